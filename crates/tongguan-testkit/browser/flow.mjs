// The web interface in real Chromium (issue 8): an importer logs in, files an advance
// declaration, sees the inline error of a wrong container check digit, fixes it and
// submits; the terminal reports arrival; the importer's open page shows "released" without a
// reload; the language switch shows Chinese. Screenshots of each page go to $ARTIFACTS.
// Run by crates/tongguan-testkit/tests/api/browser.rs with BASE, IMPORTER, TERMINAL, BILL.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const base = process.env.BASE;
const artifacts = process.env.ARTIFACTS;
const bill = process.env.BILL;
mkdirSync(artifacts, { recursive: true });

function check(cond, what) {
  if (!cond) {
    throw new Error("browser test failed: " + what);
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
try {
  const importerCtx = await browser.newContext({ locale: "en-US", viewport: { width: 1024, height: 800 } });
  const page = await importerCtx.newPage();
  async function login(p, user) {
    await p.goto(base + "/login");
    await p.getByLabel(/Username|用户名/).fill(user);
    await p.getByLabel(/Password|密码/).fill(user + "-password");
    await p.getByRole("button", { name: /Log in|登录/ }).click();
  }
  await login(page, process.env.IMPORTER);
  await page.waitForURL(base + "/app");
  check((await page.locator("html").getAttribute("lang")) === "en", "English from Accept-Language");
  await page.screenshot({ path: artifacts + "/1-dashboard.png", fullPage: true });

  // File with a wrong check digit: the inline error names the container field.
  await page.locator("#main").getByRole("link", { name: "New advance declaration" }).click();
  await page.getByLabel("Bill of lading").fill(bill);
  await page.getByLabel("Containers (comma separated)").fill("CSQU3054384");
  // A third row of the items table with a commodity code that is no tariff line.
  await page.getByLabel("Commodity code 3").fill("1234567890");
  await page.getByLabel("Name 3").fill("mouse pads");
  await page.getByLabel("Quantity 3").fill("10");
  await page.getByLabel("Unit price 3").fill("2");
  await page.getByLabel("Currency 3").fill("USD");
  await page.getByLabel("Origin 3").fill("JPN");
  await page.getByRole("button", { name: "Submit declaration" }).click();
  await page.locator("#items-2-commodity_code-error").waitFor();
  check((await page.locator("#items-2-commodity_code").getAttribute("aria-invalid")) === "true", "row 3 marked invalid");
  const field = page.locator("#head-containers");
  await field.waitFor();
  check((await field.getAttribute("aria-invalid")) === "true", "container field marked invalid");
  const error = await page.locator("#head-containers-error").innerText();
  check(/check digit/.test(error), "inline check-digit error, got: " + error);
  await page.screenshot({ path: artifacts + "/2-inline-error.png", fullPage: true });

  // Fixed: submitted and accepted, awaiting arrival.
  await field.fill("CSQU3054383");
  await page.getByLabel("Commodity code 3").fill("8473309000");
  await page.getByRole("button", { name: "Submit declaration" }).click();
  await page.waitForURL(/\/app\/declarations\/[0-9a-f-]{36}$/);
  await page.locator("#status").filter({ hasText: "awaiting arrival" }).waitFor();
  await page.screenshot({ path: artifacts + "/3-declaration.png", fullPage: true });

  // The terminal reports arrival in its own browser.
  const terminalCtx = await browser.newContext({ locale: "en-US", viewport: { width: 390, height: 844 } });
  const board = await terminalCtx.newPage();
  await login(board, process.env.TERMINAL);
  await board.waitForURL(base + "/terminal");
  await board.getByLabel("Container number").fill("CSQU3054383");
  await board.getByRole("button", { name: "Look up" }).click();
  await board.locator("#gate").waitFor();
  await board.getByLabel("Bill of lading").fill(bill);
  await board.getByRole("button", { name: "Report arrival" }).click();
  await board.locator("#arrival-result").filter({ hasText: "Released: 1" }).waitFor();
  await board.screenshot({ path: artifacts + "/4-terminal-board-narrow.png", fullPage: true });

  // The importer's open page shows the release without a reload.
  await page.locator("#status").filter({ hasText: "Released" }).waitFor({ timeout: 10000 });
  await page.screenshot({ path: artifacts + "/5-released-live.png", fullPage: true });

  // The language switch: Chinese labels and statuses.
  await page.locator("#lang-switch").click();
  await page.locator("#status").filter({ hasText: "放行" }).waitFor();
  check((await page.locator("html").getAttribute("lang")) === "zh-CN", "Chinese page");
  await page.screenshot({ path: artifacts + "/6-chinese.png", fullPage: true });
  // An officer puts laptops under control; the next laptop declaration goes to inspection.
  const officerCtx = await browser.newContext({ locale: "en-US", viewport: { width: 1024, height: 800 } });
  const desk = await officerCtx.newPage();
  await login(desk, process.env.OFFICER);
  await desk.waitForURL(base + "/officer");
  await desk.getByLabel("Commodity code prefix").fill("8471");
  await desk.getByLabel("Action").selectOption("physical_inspection");
  await desk.getByLabel("Reason").fill("laptops: undervaluation risk");
  await desk.getByRole("button", { name: "Create" }).click();
  await desk.locator("#instruction-created").waitFor();
  await desk.screenshot({ path: artifacts + "/7-officer-console.png", fullPage: true });

  // The importer's browser is in Chinese now.
  await page.goto(base + "/app/declarations/new");
  await page.getByLabel("提运单号").fill(process.env.BILL2);
  await page.getByLabel("集装箱号（逗号分隔）").fill(process.env.CONTAINER2);
  await page.getByRole("button", { name: "申报" }).click();
  await page.waitForURL(/\/app\/declarations\/[0-9a-f-]{36}$/);
  await page.locator("#status").filter({ hasText: "布控查验" }).waitFor();
  await page.screenshot({ path: artifacts + "/8-selected-zh.png", fullPage: true });

  // The goods arrive: selected goods are not released by the arrival report.
  await board.goto(base + "/terminal");
  await board.getByLabel("Bill of lading").fill(process.env.BILL2);
  await board.getByRole("button", { name: "Report arrival" }).click();
  await board.locator("#arrival-result").filter({ hasText: "Released: 0" }).waitFor();

  // The officer sees why, records the inspection and releases; the importer sees it live.
  await desk.goto(base + "/officer");
  await desk.getByRole("row", { name: new RegExp(process.env.BILL2) }).getByRole("link").click();
  await desk.locator("#control").filter({ hasText: "laptops: undervaluation risk" }).waitFor();
  await desk.getByLabel("Reason").fill("goods match the declaration");
  await desk.getByRole("button", { name: "Record" }).click();
  await desk.locator("#status").filter({ hasText: "Released" }).waitFor();
  await desk.screenshot({ path: artifacts + "/9-officer-declaration.png", fullPage: true });
  await page.locator("#status").filter({ hasText: "放行" }).waitFor({ timeout: 10000 });

  // Subscriptions: a loopback URL is refused inline (SSRF guard), in Chinese.
  await page.goto(base + "/app/subscriptions");
  await page.getByLabel("推送地址").fill("http://127.0.0.1:9/hook");
  await page.getByRole("button", { name: "订阅" }).click();
  const urlError = await page.locator("#url-error").innerText();
  check(/管理员/.test(urlError), "SSRF refusal shown in Chinese, got: " + urlError);
  await page.screenshot({ path: artifacts + "/10-subscriptions.png", fullPage: true });
  // A certificate of origin, applied for in the browser and approved by the rules at once.
  await page.goto(base + "/app/certificates/new");
  await page.locator("#importer_name").fill("Osaka Audio KK");
  await page.locator("#invoice_no").fill("INV-WEB-1");
  await page.locator("#transport_means").fill("COSCO SHIPPING ARIES");
  await page.locator("#hs_code").fill("8518.40");
  await page.locator("#description").fill("Audio amplifiers");
  await page.locator("#fob").fill("10000");
  await page.locator("input[name=m0_hs]").fill("8518.90");
  await page.locator("input[name=m0_origin]").fill("USA");
  await page.locator("input[name=m0_value]").fill("6000");
  await page.screenshot({ path: artifacts + "/11-certificate-form.png", fullPage: true });
  await page.locator("#apply").click();
  await page.locator("#certificate-number").waitFor();
  check((await page.locator("#certificate-status").innerText()) === "已签发", "certificate approved (in Chinese)");
  check(/满足/.test(await page.locator(".checks").innerText()), "checks in Chinese");
  await page.screenshot({ path: artifacts + "/12-certificate.png", fullPage: true });
  // The officer's guarantee queue and the audit log, which records the instruction.
  await desk.goto(base + "/officer/guarantees");
  await desk.screenshot({ path: artifacts + "/13-guarantees.png", fullPage: true });
  await desk.goto(base + "/officer/audit");
  await desk.getByText("laptops: undervaluation risk").first().waitFor();
  await desk.screenshot({ path: artifacts + "/14-audit.png", fullPage: true });
  // Keyboard: the skip link is the first stop and leads to the content.
  await desk.keyboard.press("Tab");
  check((await desk.evaluate(() => document.activeElement.className)) === "skip", "skip link first");

  console.log("browser flow passed");
} finally {
  await browser.close();
}
