//! Taxes (税费): customs exchange rates, tax guarantees and the consolidated-tax quota
//! (汇总征税, M1).

use chrono::Datelike;
use rust_decimal::Decimal;
use tongguan_domain::Violations;
use tongguan_domain::identity::Role;
use tongguan_store::{Changeset, DocTable, DocumentRow, ExchangeRateRow, Op};
use uuid::Uuid;

pub use tongguan_api::{
    ExchangeRateInput, ExchangeRateView, GuaranteeInput, GuaranteeKind, GuaranteeStatus,
    GuaranteeView,
};

use super::identity::require_role;
use super::{App, AppError, AppResult, Ctx, Reply, invalid, new_id};

/// `YYYY-MM` → (year, month).
pub fn parse_month(s: &str) -> Option<(i32, u32)> {
    let (y, m) = s.split_once('-')?;
    let (y, m) = (y.parse::<i32>().ok()?, m.parse::<u32>().ok()?);
    ((2000..=2100).contains(&y) && (1..=12).contains(&m) && s.len() == 7).then_some((y, m))
}

fn rate_view(r: &ExchangeRateRow) -> AppResult<ExchangeRateView> {
    Ok(ExchangeRateView {
        currency: r.currency.clone(),
        month: r.month.clone(),
        cny_per_unit: r
            .cny_per_unit
            .parse()
            .map_err(|e| AppError::Internal(format!("stored rate {}: {e}", r.cny_per_unit)))?,
        source: r.source.clone(),
        set_by: r.set_by.clone(),
        set_at: r.set_at,
    })
}

fn guarantee_of(row: &DocumentRow) -> AppResult<GuaranteeView> {
    serde_json::from_str(&row.body)
        .map_err(|e| AppError::Internal(format!("stored guarantee: {e}")))
}

impl App {
    /// Admin: sets a month's customs exchange rate for a currency (GACC publishes them
    /// monthly: the CFETS central parity of the previous month's third Wednesday, Order 272
    /// Art. 13).
    pub async fn set_exchange_rate(
        &self,
        ctx: &Ctx,
        currency: &str,
        month: &str,
        input: &ExchangeRateInput,
    ) -> AppResult<Reply> {
        require_role(ctx, &[Role::Admin])?;
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        let mut v = Violations::new();
        let currency = currency.trim().to_ascii_uppercase();
        if !self
            .catalog()
            .contains(tongguan_refdata::DatasetId::Currencies, &currency)
            || currency == "CNY"
        {
            v.push(
                "currency",
                "currency.unknown",
                format!("'{currency}' is not an ISO 4217 currency other than CNY"),
            );
        }
        if parse_month(month).is_none() {
            v.push("month", "month.format", "a month written YYYY-MM");
        }
        if input.cny_per_unit <= Decimal::ZERO {
            v.push(
                "cny_per_unit",
                "rate.positive",
                "the rate is a positive number of CNY per unit",
            );
        }
        if input.source.trim().is_empty() {
            v.push(
                "source",
                "source.required",
                "name the notice the rate comes from",
            );
        }
        if !v.is_empty() {
            return Err(v.into());
        }
        let row = ExchangeRateRow {
            currency: currency.clone(),
            month: month.to_string(),
            cny_per_unit: input.cny_per_unit.normalize().to_string(),
            source: input.source.trim().to_string(),
            set_by: ctx.actor_label(),
            set_at: self.now(),
        };
        let view = rate_view(&row)?;
        let audit = self.audit_draft(
            ctx,
            "exchange_rate.set",
            &format!("exchange_rate/{currency}/{month}"),
            &format!("{} CNY per {currency} ({})", row.cny_per_unit, row.source),
        );
        let reply = self
            .commit_reply(
                ctx,
                Changeset::new(vec![Op::UpsertExchangeRate(row)], audit),
                200,
                &view,
                None,
            )
            .await?;
        self.reload_exchange_rates().await?;
        Ok(reply)
    }

    pub async fn exchange_rates(&self, month: Option<&str>) -> AppResult<Vec<ExchangeRateView>> {
        self.store
            .exchange_rates()
            .await?
            .iter()
            .filter(|r| month.is_none_or(|m| r.month == m))
            .map(rate_view)
            .collect()
    }

    /// An enterprise registers a tax guarantee (税款担保备案); an officer approves it.
    pub async fn register_guarantee(
        &self,
        ctx: &Ctx,
        enterprise: Uuid,
        input: &GuaranteeInput,
    ) -> AppResult<Reply> {
        require_role(ctx, &[Role::EnterpriseUser, Role::Admin])?;
        self.visible_enterprise(ctx, enterprise).await?;
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        let mut v = Violations::new();
        if input.issuer.trim().is_empty() {
            v.push("issuer", "required", "name the bank or insurer");
        }
        if input.number.trim().is_empty() {
            v.push("number", "required", "the guarantee's number");
        }
        if input.amount <= Decimal::ZERO || input.amount.scale() > 2 {
            v.push(
                "amount",
                "amount.fen",
                "a positive amount in CNY with at most 2 decimals",
            );
        }
        if input.valid_until < input.valid_from {
            v.push(
                "valid_until",
                "guarantee.dates",
                "valid_until is before valid_from",
            );
        }
        if input.valid_until < self.today() {
            v.push(
                "valid_until",
                "guarantee.expired",
                "the guarantee has already expired",
            );
        }
        if !v.is_empty() {
            return Err(v.into());
        }
        let now = self.now();
        let g = GuaranteeView {
            id: new_id(),
            enterprise_id: enterprise,
            input: GuaranteeInput {
                issuer: input.issuer.trim().to_string(),
                number: input.number.trim().to_string(),
                ..input.clone()
            },
            status: GuaranteeStatus::Pending,
            decided_by: None,
            decision_reason: None,
            created_at: now,
            version: 1,
        };
        let row = DocumentRow {
            id: g.id,
            enterprise_id: enterprise,
            key: String::new(),
            status: g.status.as_str().into(),
            version: 1,
            created_at: now,
            updated_at: now,
            body: serde_json::to_string(&g).map_err(|e| AppError::Internal(e.to_string()))?,
        };
        let audit = self.audit_draft(
            ctx,
            "guarantee.register",
            &format!("guarantee/{}", g.id),
            &format!(
                "{:?} {} {} for CNY {}",
                g.input.kind, g.input.issuer, g.input.number, g.input.amount
            ),
        );
        self.commit_reply(
            ctx,
            Changeset::new(
                vec![Op::PutDocument {
                    table: DocTable::Guarantees,
                    row,
                    expected_version: None,
                }],
                audit,
            ),
            201,
            &g,
            None,
        )
        .await
    }

    /// Officers: every enterprise's guarantees, pending ones first (the approval queue).
    pub async fn all_guarantees(&self, ctx: &Ctx) -> AppResult<Vec<GuaranteeView>> {
        require_role(ctx, &[Role::Officer, Role::Admin])?;
        let mut all: Vec<GuaranteeView> = self
            .store
            .documents(DocTable::Guarantees, None)
            .await?
            .iter()
            .map(guarantee_of)
            .collect::<AppResult<_>>()?;
        all.sort_by_key(|g| g.status != tongguan_api::GuaranteeStatus::Pending);
        Ok(all)
    }

    pub async fn guarantees(&self, ctx: &Ctx, enterprise: Uuid) -> AppResult<Vec<GuaranteeView>> {
        self.visible_enterprise(ctx, enterprise).await?;
        self.store
            .documents(DocTable::Guarantees, Some(enterprise))
            .await?
            .iter()
            .map(guarantee_of)
            .collect()
    }

    /// The approved guarantees of an enterprise valid on a day, and their total in fen.
    pub async fn approved_guarantee_fen(&self, enterprise: Uuid) -> AppResult<i64> {
        let today = self.today();
        let mut total = 0i64;
        for g in self
            .store
            .documents(DocTable::Guarantees, Some(enterprise))
            .await?
            .iter()
            .map(guarantee_of)
        {
            let g = g?;
            if g.status == GuaranteeStatus::Approved
                && g.input.valid_from <= today
                && today <= g.input.valid_until
            {
                total += fen(g.input.amount)?;
            }
        }
        Ok(total)
    }

    /// The month of a date, `YYYY-MM`.
    pub fn month_of(d: chrono::NaiveDate) -> String {
        format!("{:04}-{:02}", d.year(), d.month())
    }
}

/// CNY → fen (分), refusing fractions of a fen.
pub fn fen(amount: Decimal) -> AppResult<i64> {
    let f = amount * Decimal::from(100);
    if f.fract() != Decimal::ZERO {
        return Err(invalid(
            "amount",
            "amount.fen",
            "amounts are in CNY with at most 2 decimals",
        ));
    }
    i64::try_from(f).map_err(|_| invalid("amount", "amount.range", "amount out of range"))
}

/// In-memory tax tables: the tariff in force, the customs exchange rates and the working-day
/// calendar, rebuilt from the store when an admin changes them.
pub struct TaxTables {
    tariff: std::sync::RwLock<std::sync::Arc<Option<tongguan_tax::tariff::TariffTable>>>,
    rates: std::sync::RwLock<std::sync::Arc<tongguan_tax::exchange::ExchangeRates>>,
    calendar: std::sync::RwLock<std::sync::Arc<tongguan_calendar::Calendar>>,
}

fn read<T>(lock: &std::sync::RwLock<std::sync::Arc<T>>) -> std::sync::Arc<T> {
    match lock.read() {
        Ok(g) => g.clone(),
        Err(p) => p.into_inner().clone(),
    }
}

fn write<T>(lock: &std::sync::RwLock<std::sync::Arc<T>>, value: T) {
    let value = std::sync::Arc::new(value);
    match lock.write() {
        Ok(mut g) => *g = value,
        Err(p) => *p.into_inner() = value,
    }
}

impl Default for TaxTables {
    fn default() -> Self {
        TaxTables {
            tariff: std::sync::RwLock::new(std::sync::Arc::new(None)),
            rates: std::sync::RwLock::new(std::sync::Arc::new(
                tongguan_tax::exchange::ExchangeRates::new(),
            )),
            calendar: std::sync::RwLock::new(std::sync::Arc::new(
                tongguan_calendar::Calendar::default(),
            )),
        }
    }
}

/// The curated tariff sample shipped in the binary (provenance in `data/SOURCES.md`).
const SHIPPED_TARIFF_CSV: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/tariff/rates.csv"
));

impl TaxTables {
    /// The tariff in force; `None` before one is loaded.
    pub fn tariff(&self) -> std::sync::Arc<Option<tongguan_tax::tariff::TariffTable>> {
        read(&self.tariff)
    }
    pub fn rates(&self) -> std::sync::Arc<tongguan_tax::exchange::ExchangeRates> {
        read(&self.rates)
    }
    pub fn calendar(&self) -> std::sync::Arc<tongguan_calendar::Calendar> {
        read(&self.calendar)
    }
}

impl App {
    /// Loads the tax tables at start: stores the shipped tariff when the store has none.
    pub(super) async fn start_taxes(&self) -> AppResult<()> {
        if self.store.tariff_versions().await?.is_empty() {
            let ctx = Ctx {
                actor: tongguan_domain::identity::system_actor(),
                request_id: "startup".into(),
                idempotency: None,
            };
            let row = tongguan_store::TariffVersionRow {
                id: new_id(),
                seq: 1,
                label: "shipped".into(),
                valid_from: chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default(),
                source: "curated sample shipped with Tongguan (data/tariff, see data/SOURCES.md)"
                    .into(),
                shipped: true,
                loaded_at: self.now(),
                loaded_by: "system".into(),
                csv: SHIPPED_TARIFF_CSV.to_string(),
            };
            let audit = self.audit_draft(
                &ctx,
                "tariff.load_shipped",
                "tariff/shipped",
                "curated tariff sample stored at start",
            );
            self.store
                .commit(Changeset::new(
                    vec![Op::InsertTariffVersion(Box::new(row))],
                    audit,
                ))
                .await?;
        }
        self.reload_tariff().await?;
        self.reload_exchange_rates().await?;
        self.rebuild_calendar();
        Ok(())
    }

    /// The tariff version in force today (the latest `valid_from` not after today).
    pub(super) async fn reload_tariff(&self) -> AppResult<()> {
        let today = self.today();
        let versions = self.store.tariff_versions().await?;
        let in_force = versions
            .iter()
            .filter(|v| v.valid_from <= today)
            .max_by_key(|v| (v.valid_from, v.seq))
            .or_else(|| versions.first());
        let table = match in_force {
            Some(v) => {
                let lines = tongguan_tax::tariff::parse_tariff_csv(&v.csv)
                    .map_err(|e| AppError::Internal(format!("stored tariff {}: {e}", v.label)))?;
                Some(
                    tongguan_tax::tariff::TariffTable::new(lines).map_err(|e| {
                        AppError::Internal(format!("stored tariff {}: {e}", v.label))
                    })?,
                )
            }
            None => None,
        };
        write(&self.taxes.tariff, table);
        Ok(())
    }

    pub(super) async fn reload_exchange_rates(&self) -> AppResult<()> {
        let mut rates = tongguan_tax::exchange::ExchangeRates::new();
        for r in self.store.exchange_rates().await? {
            let (year, month) = parse_month(&r.month)
                .ok_or_else(|| AppError::Internal(format!("stored month {}", r.month)))?;
            let value: Decimal = r
                .cny_per_unit
                .parse()
                .map_err(|e| AppError::Internal(format!("stored rate: {e}")))?;
            rates
                .insert(tongguan_tax::exchange::MonthlyRate {
                    currency: r.currency.clone(),
                    year,
                    month,
                    cny_per_unit: value,
                    source: r.source.clone(),
                })
                .map_err(|e| AppError::Internal(format!("stored rate: {e}")))?;
        }
        write(&self.taxes.rates, rates);
        Ok(())
    }

    /// The working-day calendar from the holiday reference data (all loaded years).
    pub(super) fn rebuild_calendar(&self) {
        let catalog = self.catalog();
        let years: Vec<i32> = catalog
            .versions()
            .into_iter()
            .filter(|v| v.dataset == tongguan_refdata::DatasetId::Holidays)
            .filter_map(|v| v.label.parse().ok())
            .collect();
        let (entries, _) = catalog.search(tongguan_refdata::DatasetId::Holidays, "", usize::MAX, 0);
        let days: Vec<tongguan_calendar::SpecialDay> = entries
            .into_iter()
            .filter_map(|e| {
                tongguan_calendar::SpecialDay::from_code(
                    &e.code,
                    e.attr("off_day").unwrap_or(""),
                    e.name_zh.clone().unwrap_or_default(),
                )
                .ok()
            })
            .collect();
        write(
            &self.taxes.calendar,
            tongguan_calendar::Calendar::new(days, years),
        );
    }
}

use std::collections::BTreeMap;
pub use tongguan_api::{
    PaymentInput, QuotaView, ReservationView, StatementPaymentInput, StatementStatus, StatementView,
};
use tongguan_domain::lifecycle::{Declaration, Status, TaxMethod, TaxState};
use tongguan_tax::ledger::{Ledger, LedgerSnapshot, Transfer, TransferKind};

/// Fen → CNY.
pub fn cny(fen: i64) -> Decimal {
    Decimal::new(fen, 2)
}

/// Levy methods (征免方式) under which tax is due: 1 照章征税, 2 折半征税.
fn taxable(levy_method: &str) -> bool {
    matches!(levy_method, "1" | "2")
}

/// How a payment's reference names its statement: `statement/YYYY-MM`.
const STATEMENT_REF: &str = "statement/";

/// The statement a payment belongs to.
fn statement_ref(month: &str) -> String {
    format!("{STATEMENT_REF}{month}")
}

/// Released taxes and payments of one statement month.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct MonthTotals {
    /// Taxes posted at release in the month (China time).
    posted: i64,
    /// Payments made against the month's statement.
    paid: i64,
    /// Each payment's China date and amount, for the late-payment surcharge: every fen
    /// accrues it from the day after the due date to the day it is paid. Snapshots written
    /// before this list count their payments as made on time.
    #[serde(default)]
    payments: Vec<(chrono::NaiveDate, i64)>,
}

/// What `ledgers.state` holds: the balances (for people reading the table), the snapshot new
/// transfers start from and the statement months' totals. Rows written before snapshots hold
/// only the balances; their ledger is rebuilt from its transfers and the next change stores
/// the snapshot.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredLedger {
    quota: i64,
    available: i64,
    reserved: i64,
    owed: i64,
    #[serde(default)]
    snapshot: Option<LedgerSnapshot>,
    #[serde(default)]
    months: BTreeMap<String, MonthTotals>,
}

/// The statement month a transfer counts in: a post in the China month of its release, a
/// payment in the month its statement reference names.
fn statement_month(t: &Transfer) -> Option<String> {
    match t.kind {
        TransferKind::Post => Some(App::month_of(super::china_date(t.at))),
        TransferKind::Pay => t.reference.strip_prefix(STATEMENT_REF).map(str::to_string),
        _ => None,
    }
}

/// A loaded ledger with the stored version it was read at.
pub struct LoadedLedger {
    pub ledger: Ledger,
    version: Option<i64>,
    /// The sequence number of the first transfer applied after loading.
    next_seq: i64,
    months: BTreeMap<String, MonthTotals>,
    added: Vec<Transfer>,
}

impl LoadedLedger {
    fn new(ledger: Ledger, version: Option<i64>, months: BTreeMap<String, MonthTotals>) -> Self {
        LoadedLedger {
            next_seq: ledger.applied() as i64 + 1,
            ledger,
            version,
            months,
            added: Vec::new(),
        }
    }

    /// Applies a transfer in memory (refused transfers change nothing; one applied before is
    /// not stored again).
    pub fn apply(&mut self, t: Transfer) -> AppResult<()> {
        let applied = self
            .ledger
            .apply(t.clone())
            .map_err(|e| invalid("amount", e.rule(), e.to_string()))?;
        if applied == tongguan_tax::ledger::Applied::Recorded {
            count_in_month(&mut self.months, &t);
            self.added.push(t);
        }
        Ok(())
    }

    /// The ops storing the applied transfers and the new snapshot, guarded by the version
    /// read.
    pub fn ops(&self) -> AppResult<Vec<Op>> {
        if self.added.is_empty() {
            return Ok(Vec::new());
        }
        let enterprise = self.ledger.enterprise();
        let mut rows = Vec::with_capacity(self.added.len());
        for (i, t) in self.added.iter().enumerate() {
            rows.push(tongguan_store::LedgerTransferRow {
                id: t.id,
                enterprise_id: enterprise,
                seq: self.next_seq + i as i64,
                at: t.at,
                body: serde_json::to_string(t).map_err(|e| AppError::Internal(e.to_string()))?,
            });
        }
        let state = StoredLedger {
            quota: self.ledger.quota(),
            available: self.ledger.available(),
            reserved: self.ledger.reserved(),
            owed: self.ledger.owed(),
            snapshot: Some(self.ledger.snapshot()),
            months: self.months.clone(),
        };
        Ok(vec![
            Op::PutLedger {
                enterprise_id: enterprise,
                version: self.version.unwrap_or(0) + 1,
                expected_version: self.version,
                state: serde_json::to_string(&state)
                    .map_err(|e| AppError::Internal(e.to_string()))?,
            },
            Op::InsertLedgerTransfers(rows),
        ])
    }
}

/// The declarations posted to each statement month, among the ledger's held transfers.
fn statement_declarations(loaded: &LoadedLedger) -> BTreeMap<String, Vec<String>> {
    let mut declarations: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in loaded.ledger.transfers() {
        if t.kind == TransferKind::Post
            && let Some(month) = statement_month(t)
        {
            declarations
                .entry(month)
                .or_default()
                .push(t.reference.clone());
        }
    }
    declarations
}

/// Why a due date is not known, for the statement and the officer console: most often the
/// State Council has not published next year's holiday notice yet (it does so in November
/// or December), or no admin has loaded it.
pub fn calendar_note(e: &tongguan_calendar::CalendarError) -> String {
    use tongguan_calendar::CalendarError as E;
    match e {
        E::YearNotCovered { year } | E::NextYearNotCovered { year, .. } => format!(
            "the due date is not known yet: the State Council's {year} holiday notice (国务院办公厅关于{year}年部分节假日安排的通知) is not loaded, so the working days of {year} are unknown; an admin loads it (reference dataset `holidays`) once it is published"
        ),
        other => format!("the due date cannot be computed: {other}"),
    }
}

fn count_in_month(months: &mut BTreeMap<String, MonthTotals>, t: &Transfer) {
    if let Some(month) = statement_month(t) {
        let m = months.entry(month).or_default();
        match t.kind {
            TransferKind::Post => m.posted += t.amount,
            _ => {
                m.paid += t.amount;
                m.payments.push((super::china_date(t.at), t.amount));
            }
        }
    }
}

impl App {
    /// An enterprise's quota ledger as new transfers need it: restored from its stored
    /// snapshot (one row, whatever the history's length), or rebuilt from its transfers when
    /// the row predates snapshots. Restored from a snapshot, [`Ledger::transfers`] holds only
    /// what is applied after loading; views that list reservations or a statement's
    /// declarations use [`App::load_ledger_history`].
    pub async fn load_ledger(&self, enterprise: Uuid) -> AppResult<LoadedLedger> {
        let Some((version, state)) = self.store.ledger(enterprise).await? else {
            return Ok(LoadedLedger::new(
                Ledger::open(enterprise),
                None,
                BTreeMap::new(),
            ));
        };
        let stored: StoredLedger = serde_json::from_str(&state)
            .map_err(|e| AppError::Internal(format!("stored ledger of {enterprise}: {e}")))?;
        match stored.snapshot {
            Some(snapshot) => {
                let ledger = Ledger::from_snapshot(enterprise, snapshot).map_err(|e| {
                    AppError::Internal(format!("stored ledger snapshot of {enterprise}: {e}"))
                })?;
                Ok(LoadedLedger::new(ledger, Some(version), stored.months))
            }
            None => self.replay_ledger(enterprise, Some(version)).await,
        }
    }

    /// An enterprise's quota ledger rebuilt from every stored transfer, for views that list
    /// them (open reservations, the declarations of each statement).
    pub async fn load_ledger_history(&self, enterprise: Uuid) -> AppResult<LoadedLedger> {
        let version = self.store.ledger(enterprise).await?.map(|(v, _)| v);
        self.replay_ledger(enterprise, version).await
    }

    async fn replay_ledger(
        &self,
        enterprise: Uuid,
        version: Option<i64>,
    ) -> AppResult<LoadedLedger> {
        let mut transfers = Vec::new();
        let mut months = BTreeMap::new();
        for body in self.store.ledger_transfers(enterprise).await? {
            let t = serde_json::from_str::<Transfer>(&body)
                .map_err(|e| AppError::Internal(format!("stored ledger transfer: {e}")))?;
            count_in_month(&mut months, &t);
            transfers.push(t);
        }
        let ledger = Ledger::from_transfers(enterprise, transfers)
            .map_err(|e| AppError::Internal(format!("stored ledger of {enterprise}: {e}")))?;
        Ok(LoadedLedger::new(ledger, version, months))
    }

    /// Monthly statements: released taxes (posts) by the China month of release, payments by
    /// their statement reference. Each lists the declarations among the ledger's held
    /// transfers — all of them when loaded with [`App::load_ledger_history`].
    pub fn statements(&self, loaded: &LoadedLedger) -> Vec<StatementView> {
        let mut declarations = statement_declarations(loaded);
        loaded
            .months
            .iter()
            .rev()
            .map(|(month, totals)| {
                self.statement_view(
                    month,
                    totals,
                    declarations.remove(month).unwrap_or_default(),
                )
            })
            .collect()
    }

    /// The statement of any month up to the current one, with nothing in it when no goods
    /// were released that month (`GET /api/v1/enterprises/{id}/statements/{month}`).
    pub async fn statement(
        &self,
        ctx: &Ctx,
        enterprise: Uuid,
        month: &str,
    ) -> AppResult<StatementView> {
        self.visible_enterprise(ctx, enterprise).await?;
        let Some((y, m)) = parse_month(month) else {
            return Err(invalid("month", "month.format", "a month written YYYY-MM"));
        };
        let today = self.today();
        if (y, m) > (today.year(), today.month()) {
            return Err(invalid(
                "month",
                "month.future",
                format!("{month} has not begun (today is {today}): no statement yet"),
            ));
        }
        let loaded = self.load_ledger_history(enterprise).await?;
        let mut declarations = statement_declarations(&loaded);
        let totals = loaded.months.get(month).cloned().unwrap_or_default();
        Ok(self.statement_view(
            month,
            &totals,
            declarations.remove(month).unwrap_or_default(),
        ))
    }

    /// One month's statement as of today: its due date by the State Council calendar (or
    /// why it is not known), status, days overdue and the late-payment surcharge.
    fn statement_view(
        &self,
        month: &str,
        totals: &MonthTotals,
        declarations: Vec<String>,
    ) -> StatementView {
        let today = self.today();
        let cal = self.taxes.calendar();
        let (amount, paid) = (totals.posted, totals.paid);
        let due = parse_month(month).map(|(y, m)| {
            tongguan_calendar::monthly_statement_due(
                &cal,
                y,
                m,
                self.config.taxes.statement_due_working_day,
            )
        });
        let (due, due_date_note) = match due {
            Some(Ok(d)) => (Some(d), None),
            Some(Err(e)) => (None, Some(calendar_note(&e))),
            None => (None, None),
        };
        let unpaid = (amount - paid).max(0);
        let days_overdue = match due {
            Some(d) if unpaid > 0 && today > d => (today - d).num_days(),
            _ => 0,
        };
        let status = if unpaid == 0 {
            StatementStatus::Paid
        } else if days_overdue > 0 {
            StatementStatus::Overdue
        } else {
            StatementStatus::Open
        };
        let late_fee = due.map_or(Decimal::ZERO, |d| self.late_payment_fee(d, totals, today));
        StatementView {
            month: month.to_string(),
            amount: cny(amount),
            paid: cny(paid),
            unpaid: cny(unpaid),
            due_date: due,
            due_date_note,
            status,
            days_overdue,
            late_fee,
            declarations,
        }
    }

    /// The late-payment surcharge (滞纳金) of a statement due on `due`: 0.05 % a day of what
    /// is unpaid, each fen from the day after the due date to the day it is paid (Customs
    /// Tariff Law Art. 43), so a payment made late keeps the surcharge it accrued; rounded to
    /// the fen, not levied below the threshold (RULES.md §5).
    fn late_payment_fee(
        &self,
        due: chrono::NaiveDate,
        t: &MonthTotals,
        today: chrono::NaiveDate,
    ) -> Decimal {
        let late_days = |on: chrono::NaiveDate| (on.min(today) - due).num_days().max(0);
        // Payments without a date (older snapshots) are not in the list: made on time.
        let unpaid = (t.posted - t.paid).max(0);
        let mut fen_days = Decimal::from(unpaid) * Decimal::from(late_days(today));
        for (on, amount) in &t.payments {
            fen_days += Decimal::from(*amount) * Decimal::from(late_days(*on));
        }
        let fee = (fen_days / Decimal::from(100) * self.config.taxes.late_payment_rate_per_day)
            .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        if fee < self.config.taxes.late_payment_fee_minimum_cny {
            Decimal::ZERO
        } else {
            fee
        }
    }

    /// Years whose State Council holiday notice is needed soon and not loaded: this year and
    /// the next one from the days its notice may be due (statements of this month fall due
    /// next month; the notice of a year is published in November or December before it).
    pub fn missing_calendar_years(&self) -> Vec<i32> {
        let today = self.today();
        let cal = self.taxes.calendar();
        let soon = today + chrono::Duration::days(self.config.taxes.calendar_warning_days);
        let mut years: Vec<i32> = (today.year()..=soon.year())
            .filter(|y| !cal.covers(*y))
            .collect();
        years.dedup();
        years
    }

    /// Why consolidated tax is refused to an enterprise now, if it is.
    fn suspension(
        &self,
        credit: tongguan_domain::enterprise::CreditLevel,
        statements: &[StatementView],
    ) -> Option<String> {
        if credit.is_dishonest() {
            return Some(format!(
                "a {} enterprise may not use consolidated tax payment (GACC Ann. 2017 No. 45)",
                credit.as_str()
            ));
        }
        statements.iter().find(|s| s.status == StatementStatus::Overdue).map(|s| {
            format!("the statement for {} is overdue; consolidated tax is suspended until it is paid", s.month)
        })
    }

    pub async fn quota(&self, ctx: &Ctx, enterprise: Uuid) -> AppResult<QuotaView> {
        let e = self.visible_enterprise(ctx, enterprise).await?;
        let loaded = self.load_ledger_history(enterprise).await?;
        let l = &loaded.ledger;
        let statements = self.statements(&loaded);
        let suspension_reason = self.suspension(e.credit_level, &statements);
        Ok(QuotaView {
            enterprise_id: enterprise,
            quota: cny(l.quota()),
            available: cny(l.available()),
            reserved: cny(l.reserved()),
            owed: cny(l.owed()),
            reservations: l
                .open_reservations()
                .map(|t| ReservationView {
                    reference: t.reference.clone(),
                    amount: cny(t.amount),
                    at: t.at,
                })
                .collect(),
            statements,
            suspended: suspension_reason.is_some(),
            suspension_reason,
        })
    }

    /// Officers decide a registered guarantee; an approval raises the quota to the sum of the
    /// approved guarantees in force.
    pub async fn decide_guarantee(
        &self,
        ctx: &Ctx,
        id: Uuid,
        approve: bool,
        reason: &str,
    ) -> AppResult<Reply> {
        require_role(ctx, &[Role::Officer])?;
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        if reason.trim().is_empty() {
            return Err(invalid(
                "reason",
                "reason.required",
                "give the reason for the decision",
            ));
        }
        let row = self
            .store
            .document(DocTable::Guarantees, id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("guarantee {id}")))?;
        let mut g = guarantee_of(&row)?;
        if g.status != GuaranteeStatus::Pending {
            return Err(invalid(
                "id",
                "guarantee.decided",
                format!("this guarantee is already {}", g.status.as_str()),
            ));
        }
        let now = self.now();
        g.status = if approve {
            GuaranteeStatus::Approved
        } else {
            GuaranteeStatus::Rejected
        };
        g.decided_by = Some(ctx.actor_label());
        g.decision_reason = Some(reason.trim().to_string());
        g.version += 1;
        let mut ops = vec![Op::PutDocument {
            table: DocTable::Guarantees,
            row: DocumentRow {
                status: g.status.as_str().into(),
                version: g.version,
                updated_at: now,
                body: serde_json::to_string(&g).map_err(|e| AppError::Internal(e.to_string()))?,
                ..row.clone()
            },
            expected_version: Some(row.version),
        }];
        if approve {
            let today = self.today();
            let in_force = g.input.valid_from <= today && today <= g.input.valid_until;
            let mut ledger = self.load_ledger(g.enterprise_id).await?;
            let target = self.approved_guarantee_fen(g.enterprise_id).await?
                + if in_force { fen(g.input.amount)? } else { 0 };
            if let Some(t) = ledger.ledger.change_quota_to(
                new_id(),
                target,
                format!("guarantee/{}:{}", g.input.issuer, g.input.number),
                now,
            ) {
                ledger.apply(t)?;
            }
            ops.extend(ledger.ops()?);
        }
        let audit = self.audit_draft(
            ctx,
            if approve {
                "guarantee.approve"
            } else {
                "guarantee.reject"
            },
            &format!("guarantee/{id}"),
            reason.trim(),
        );
        self.commit_reply(ctx, Changeset::new(ops, audit), 200, &g, None)
            .await
    }

    /// The taxes of a declaration at acceptance and the ledger ops reserving them.
    pub(super) async fn assess_taxes(
        &self,
        d: &Declaration,
        owner: &tongguan_domain::enterprise::Enterprise,
        now: chrono::DateTime<chrono::Utc>,
    ) -> AppResult<(TaxState, Option<LoadedLedger>)> {
        let c = &d.content;
        let state = |method, total_fen, secured, reason: String, breakdown| TaxState {
            method,
            total_fen,
            secured,
            reason,
            breakdown,
            paid_at: None,
            payment_reference: None,
            reservation: None,
        };
        if c.direction == tongguan_domain::codes::Direction::Export {
            return Ok((
                state(
                    TaxMethod::NoneDue,
                    0,
                    true,
                    "exports: no import taxes".into(),
                    None,
                ),
                None,
            ));
        }
        if !c.items.iter().any(|i| taxable(&i.levy_method)) {
            return Ok((
                state(
                    TaxMethod::NoneDue,
                    0,
                    true,
                    "no item is levied (征免方式)".into(),
                    None,
                ),
                None,
            ));
        }
        let tariff = self.taxes.tariff();
        let Some(table) = tariff.as_ref() else {
            return Ok((
                state(
                    TaxMethod::Unassessed,
                    0,
                    true,
                    "no tariff table is loaded".into(),
                    None,
                ),
                None,
            ));
        };
        // M11, import side: the agreement rate only on a certificate verified by number and
        // code, issued for imports here by the claimed party, covering the goods.
        let claim = match c.head.origin_certificate.as_ref() {
            Some(o) => {
                let codes: Vec<String> = c
                    .items
                    .iter()
                    .filter(|i| i.origin_country.trim() == o.exporting_party.trim())
                    .map(|i| i.commodity_code.clone())
                    .collect();
                let verdict = self
                    .certificate_allows(o, &codes, super::china_date(now))
                    .await?;
                Some(tongguan_tax::compute::OriginClaim {
                    agreement: o.agreement.clone(),
                    partner: o.exporting_party.clone(),
                    valid: verdict.is_ok(),
                    reference: match verdict {
                        Ok(()) => o.number.clone(),
                        Err(why) => why,
                    },
                })
            }
            None => None,
        };
        let input = tongguan_tax::compute::TaxInput {
            declaration_date: super::china_date(now),
            transaction_terms: c.head.transaction_terms.clone(),
            freight: c.head.freight.clone(),
            insurance: c.head.insurance.clone(),
            other_charges: c.head.other_charges.clone(),
            items: c
                .items
                .iter()
                .enumerate()
                .filter(|(_, i)| taxable(&i.levy_method))
                .map(|(n, i)| tongguan_tax::compute::TaxItem {
                    item_no: n as u32 + 1,
                    commodity_code: i.commodity_code.clone(),
                    quantity: i.quantity,
                    unit: i.unit.clone(),
                    total_price: i.total_price,
                    currency: i.currency.clone(),
                    origin_country: i.origin_country.clone(),
                })
                .collect(),
            origin: claim,
        };
        let breakdown = match tongguan_tax::compute::compute(
            &input,
            table,
            &self.taxes.rates(),
            &self.config.taxes.rules,
        ) {
            Ok(b) => b,
            Err(e) => {
                return Ok((
                    state(
                        TaxMethod::Unassessed,
                        0,
                        true,
                        format!("assessed after release: {e}"),
                        None,
                    ),
                    None,
                ));
            }
        };
        let total = fen(breakdown.totals.total.round_dp(2))?;
        let value = serde_json::to_value(&breakdown).ok();
        if total == 0 {
            return Ok((
                state(
                    TaxMethod::NoneDue,
                    0,
                    true,
                    "all taxes waived or zero".into(),
                    value,
                ),
                None,
            ));
        }
        if !c.head.modes.consolidated_tax {
            return Ok((
                state(
                    TaxMethod::PayBeforeRelease,
                    total,
                    false,
                    "pay before release (先税后放)".into(),
                    value,
                ),
                None,
            ));
        }
        let mut ledger = self.load_ledger(owner.id).await?;
        let statements = self.statements(&ledger);
        if let Some(why) = self.suspension(owner.credit_level, &statements) {
            return Ok((
                state(
                    TaxMethod::PayBeforeRelease,
                    total,
                    false,
                    format!("pay before release: {why}"),
                    value,
                ),
                None,
            ));
        }
        let available = ledger.ledger.available();
        if available < total {
            return Ok((
                state(
                    TaxMethod::PayBeforeRelease,
                    total,
                    false,
                    format!(
                        "pay before release: the guarantee quota is short (needs {}, {} available)",
                        cny(total),
                        cny(available)
                    ),
                    value,
                ),
                None,
            ));
        }
        let reservation = new_id();
        ledger.apply(Transfer::reserve(
            reservation,
            owner.id,
            total,
            format!("declaration/{}", d.id),
            now,
        ))?;
        let mut s = state(
            TaxMethod::Consolidated,
            total,
            true,
            "reserved against the guarantee quota (汇总征税)".into(),
            value,
        );
        s.reservation = Some(reservation);
        Ok((s, Some(ledger)))
    }

    /// Ledger ops for declarations whose status changed: a consolidated reservation is posted
    /// at release (the taxes join the month's statement) and voided at cancellation.
    pub(super) async fn settle_reservations(
        &self,
        changes: &[(Status, &Declaration)],
    ) -> AppResult<Vec<Op>> {
        let mut by_enterprise: std::collections::BTreeMap<Uuid, LoadedLedger> = Default::default();
        let now = self.now();
        for (before, d) in changes {
            let Some(tax) = d
                .tax
                .as_ref()
                .filter(|t| t.method == TaxMethod::Consolidated)
            else {
                continue;
            };
            let Some(reservation) = tax.reservation else {
                continue;
            };
            let transfer = if !before.is_released() && d.status.is_released() {
                Transfer::post(
                    new_id(),
                    d.owner_id,
                    reservation,
                    tax.total_fen,
                    format!("declaration/{}", d.id),
                    now,
                )
            } else if *before != Status::Cancelled && d.status == Status::Cancelled {
                Transfer::void(
                    new_id(),
                    d.owner_id,
                    reservation,
                    format!("declaration/{}", d.id),
                    now,
                )
            } else {
                continue;
            };
            let ledger = match by_enterprise.entry(d.owner_id) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(self.load_ledger(d.owner_id).await?)
                }
            };
            ledger.apply(transfer)?;
        }
        let mut ops = Vec::new();
        for l in by_enterprise.values() {
            ops.extend(l.ops()?);
        }
        Ok(ops)
    }

    /// A payment of a month's statement restores the quota.
    pub async fn pay_statement(
        &self,
        ctx: &Ctx,
        enterprise: Uuid,
        month: &str,
        input: &StatementPaymentInput,
    ) -> AppResult<Reply> {
        require_role(ctx, &[Role::Officer, Role::EnterpriseUser, Role::Admin])?;
        self.visible_enterprise(ctx, enterprise).await?;
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        if parse_month(month).is_none() {
            return Err(invalid("month", "month.format", "a month written YYYY-MM"));
        }
        if input.reference.trim().is_empty() {
            return Err(invalid(
                "reference",
                "payment.reference",
                "name the bank transfer or receipt",
            ));
        }
        let amount = fen(input.amount)?;
        // The reply lists the statement's declarations: all of them, from the history.
        let mut ledger = self.load_ledger_history(enterprise).await?;
        let unpaid = self
            .statements(&ledger)
            .into_iter()
            .find(|s| s.month == month)
            .map_or(Ok(0), |s| fen(s.unpaid))?;
        if amount <= 0 || amount > unpaid {
            return Err(invalid(
                "amount",
                "payment.amount",
                format!("the statement for {month} has {} unpaid", cny(unpaid)),
            ));
        }
        let now = self.now();
        ledger.apply(Transfer::pay(
            new_id(),
            enterprise,
            amount,
            statement_ref(month),
            now,
        ))?;
        let ops = ledger.ops()?;
        let audit = self.audit_draft(
            ctx,
            "statement.payment",
            &format!("enterprise/{enterprise}/statement/{month}"),
            &format!("CNY {} paid ({})", cny(amount), input.reference.trim()),
        );
        let statement = self
            .statements(&ledger)
            .into_iter()
            .find(|s| s.month == month);
        self.commit_reply(ctx, Changeset::new(ops, audit), 200, &statement, None)
            .await
    }
}

impl App {
    /// An officer records the payment of a pay-before-release declaration's taxes; goods
    /// waiting for it are released.
    pub async fn record_payment(
        &self,
        ctx: &Ctx,
        id: Uuid,
        input: &PaymentInput,
    ) -> AppResult<Reply> {
        self.transition_payment(ctx, id, input.reference.trim())
            .await
    }
}

/// Where a tariff table version comes from (`POST /api/v1/tariff/versions` query).
pub use tongguan_api::NewVersionParams as TariffVersionParams;

fn tax_error(e: &tongguan_tax::compute::TaxError) -> AppError {
    invalid(&e.path(), e.rule(), e.to_string())
}

impl App {
    /// Admin: loads a full (or newer) tariff table from the documented CSV
    /// (crates/tongguan-tax/src/tariff.rs). It is in force from `valid_from`.
    pub async fn load_tariff(
        &self,
        ctx: &Ctx,
        params: &TariffVersionParams,
        csv: &str,
    ) -> AppResult<Reply> {
        require_role(ctx, &[Role::Admin])?;
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        if params.label.trim().is_empty() || params.source.trim().is_empty() {
            return Err(invalid(
                "label",
                "tariff.label_and_source",
                "give a label and the source of the table",
            ));
        }
        let lines = tongguan_tax::tariff::parse_tariff_csv(csv).map_err(|e| tax_error(&e))?;
        let n = lines.len();
        tongguan_tax::tariff::TariffTable::new(lines).map_err(|e| tax_error(&e))?;
        let seq = self
            .store
            .tariff_versions()
            .await?
            .iter()
            .map(|v| v.seq)
            .max()
            .unwrap_or(0)
            + 1;
        let row = tongguan_store::TariffVersionRow {
            id: new_id(),
            seq,
            label: params.label.trim().to_string(),
            valid_from: params.valid_from,
            source: params.source.trim().to_string(),
            shipped: false,
            loaded_at: self.now(),
            loaded_by: ctx.actor_label(),
            csv: csv.to_string(),
        };
        let info = serde_json::json!({ "label": row.label, "valid_from": row.valid_from, "source": row.source, "lines": n });
        let audit = self.audit_draft(
            ctx,
            "tariff.load",
            &format!("tariff/{}", row.label),
            &format!("{n} lines from {}", row.source),
        );
        let reply = self
            .commit_reply(
                ctx,
                Changeset::new(vec![Op::InsertTariffVersion(Box::new(row))], audit),
                201,
                &info,
                None,
            )
            .await?;
        self.reload_tariff().await?;
        Ok(reply)
    }

    /// The tariff line in force for a 10- or 8-digit code on a date.
    pub fn tariff_line(
        &self,
        code: &str,
        on: chrono::NaiveDate,
    ) -> AppResult<tongguan_tax::tariff::TariffLine> {
        let code: String = code.chars().filter(|c| c.is_ascii_digit()).collect();
        let tariff = self.taxes.tariff();
        tariff
            .as_ref()
            .as_ref()
            .and_then(|t| t.lookup(&code, on))
            .cloned()
            .ok_or_else(|| {
                AppError::NotFound(format!("tariff line {code} in the table in force on {on}"))
            })
    }

    /// Admin: imports monthly exchange rates from CSV (`currency,month,cny_per_unit,source`).
    pub async fn import_exchange_rates(&self, ctx: &Ctx, csv: &str) -> AppResult<Reply> {
        require_role(ctx, &[Role::Admin])?;
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        let rates =
            tongguan_tax::exchange::ExchangeRates::parse_csv(csv).map_err(|e| tax_error(&e))?;
        let catalog = self.catalog();
        let mut v = Violations::new();
        for (i, r) in rates.iter().enumerate() {
            if r.currency == "CNY"
                || !catalog.contains(tongguan_refdata::DatasetId::Currencies, &r.currency)
            {
                v.push(
                    format!("body/line/{}", i + 2),
                    "currency.unknown",
                    format!(
                        "'{}' is not an ISO 4217 currency other than CNY",
                        r.currency
                    ),
                );
            }
        }
        if !v.is_empty() {
            return Err(v.into());
        }
        let now = self.now();
        let ops: Vec<Op> = rates
            .iter()
            .map(|r| {
                Op::UpsertExchangeRate(ExchangeRateRow {
                    currency: r.currency.clone(),
                    month: r.month_label(),
                    cny_per_unit: r.cny_per_unit.normalize().to_string(),
                    source: r.source.clone(),
                    set_by: ctx.actor_label(),
                    set_at: now,
                })
            })
            .collect();
        let info = serde_json::json!({ "rates": ops.len() });
        let audit = self.audit_draft(
            ctx,
            "exchange_rate.import",
            "exchange_rates",
            &format!("{} monthly rates imported", ops.len()),
        );
        let reply = self
            .commit_reply(ctx, Changeset::new(ops, audit), 201, &info, None)
            .await?;
        self.reload_exchange_rates().await?;
        Ok(reply)
    }
}

impl App {
    /// Officers and admins: every enterprise with a consolidated-tax quota, with its
    /// reservations and statements (overdue ones first).
    pub async fn quotas(&self, ctx: &Ctx) -> AppResult<Vec<QuotaView>> {
        require_role(ctx, &[Role::Officer, Role::Admin])?;
        let mut out = Vec::new();
        for id in self.store.ledger_enterprises().await? {
            out.push(self.quota(ctx, id).await?);
        }
        out.sort_by_key(|q| !q.suspended);
        Ok(out)
    }
}
