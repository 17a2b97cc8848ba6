//! Certificates of origin (M11): applications, review results, the printable certificate.

use super::*;

pub(super) struct CertRow {
    id: Uuid,
    number: String,
    importer: String,
    status: String,
    at: String,
}

#[derive(Template)]
#[template(path = "certificates.html")]
pub(super) struct CertificatesPage {
    c: Chrome,
    rows: Vec<CertRow>,
}

pub(super) async fn certificates(
    State(app): State<AppState>,
    headers: HeaderMap,
    WebUser(ctx): WebUser,
) -> Response {
    let l = Lang::of(&headers);
    match app.certificates(&ctx).await {
        Ok(list) => page(&CertificatesPage {
            c: chrome(l, &ctx, "/app/certificates"),
            rows: list
                .into_iter()
                .map(|c| CertRow {
                    id: c.id,
                    number: c.number.unwrap_or_else(|| "—".into()),
                    importer: c.application.importer_name,
                    status: l.t(&format!("cert_{}", c.status)).to_string(),
                    at: c.decided_at.format("%Y-%m-%d %H:%M").to_string(),
                })
                .collect(),
        }),
        Err(e) => error_page(l, &e),
    }
}

#[derive(Template)]
#[template(path = "certificate_form.html")]
pub(super) struct CertificateFormPage {
    c: Chrome,
    key: String,
    values: BTreeMap<String, String>,
    errors: Vec<String>,
    head_fields: Vec<(&'static str, &'static str)>,
    item_fields: Vec<(&'static str, &'static str)>,
}

impl CertificateFormPage {
    fn new(c: Chrome, values: BTreeMap<String, String>, errors: Vec<String>) -> Self {
        Self {
            c,
            key: Uuid::now_v7().to_string(),
            values,
            errors,
            head_fields: vec![
                ("importing_party", "importing_party"),
                ("importer_name", "importer_name"),
                ("invoice_no", "invoice_no"),
                ("invoice_date", "invoice_date"),
                ("transport_means", "transport_means"),
                ("port_of_loading", "port_of_loading"),
                ("port_of_discharge", "port_of_discharge"),
            ],
            item_fields: vec![
                ("hs_code", "hs_code"),
                ("description", "description"),
                ("quantity", "quantity"),
                ("fob", "fob"),
                ("processes", "processes"),
            ],
        }
    }
    fn v(&self, name: &str) -> String {
        self.values.get(name).cloned().unwrap_or_default()
    }
    fn m(&self, i: &usize, f: &str) -> String {
        self.v(&format!("m{i}_{f}"))
    }
}

pub(super) async fn certificate_form(
    State(app): State<AppState>,
    headers: HeaderMap,
    WebUser(ctx): WebUser,
) -> Response {
    let today = app.today();
    let values = [
        ("importing_party", "JPN".to_string()),
        ("invoice_date", today.to_string()),
        ("port_of_loading", "CNYTN".to_string()),
        ("port_of_discharge", "JPTYO".to_string()),
        ("quantity", "1".to_string()),
        ("processes", "assembling".to_string()),
        ("criterion", "PSR".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    page(&CertificateFormPage::new(
        chrome(Lang::of(&headers), &ctx, "/app/certificates/new"),
        values,
        Vec::new(),
    ))
}

#[derive(Deserialize)]
pub(super) struct CertForm {
    key: String,
    #[serde(flatten)]
    fields: BTreeMap<String, String>,
}

pub(super) async fn apply_certificate(
    State(app): State<AppState>,
    headers: HeaderMap,
    WebUser(ctx): WebUser,
    Form(f): Form<CertForm>,
) -> Response {
    let l = Lang::of(&headers);
    let v = |k: &str| {
        f.fields
            .get(k)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let mut errors = Vec::new();
    let mut num = |k: &str, label: &str| -> Decimal {
        v(k).parse::<Decimal>().unwrap_or_else(|_| {
            errors.push(format!("{}: {}", l.t(label), v(k)));
            Decimal::ZERO
        })
    };
    let quantity = num("quantity", "quantity");
    let fob = num("fob", "fob");
    let mut materials = Vec::new();
    for i in 0..3 {
        let hs = v(&format!("m{i}_hs"));
        if hs.is_empty() {
            continue;
        }
        let value = num(&format!("m{i}_value"), "value");
        materials.push(tongguan_origin::Material {
            hs_code: hs,
            description: String::new(),
            origin: v(&format!("m{i}_origin")).to_ascii_uppercase(),
            value,
            weight_kg: None,
            role: tongguan_origin::MaterialRole::Material,
        });
    }
    let invoice_date = chrono::NaiveDate::parse_from_str(&v("invoice_date"), "%Y-%m-%d")
        .unwrap_or_else(|_| {
            errors.push(format!("{}: {}", l.t("invoice_date"), v("invoice_date")));
            app.today()
        });
    let criterion = match v("criterion").as_str() {
        "WO" => tongguan_origin::Criterion::WhollyObtained,
        "PE" => tongguan_origin::Criterion::ProducedExclusively,
        _ => tongguan_origin::Criterion::ProductSpecific,
    };
    if !errors.is_empty() {
        let mut r = page(&CertificateFormPage::new(
            chrome(l, &ctx, "/app/certificates/new"),
            f.fields.clone(),
            errors,
        ));
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return r;
    }
    let input = tongguan_api::CertificateApplication {
        importing_party: v("importing_party"),
        importer_name: v("importer_name"),
        importer_address: String::new(),
        invoice_no: v("invoice_no"),
        invoice_date,
        total_fob: None,
        transport: tongguan_api::OriginTransport {
            means: v("transport_means"),
            voyage: String::new(),
            departure_date: None,
            port_of_loading: v("port_of_loading"),
            port_of_discharge: v("port_of_discharge"),
        },
        items: vec![tongguan_origin::Item {
            hs_code: v("hs_code"),
            description: v("description"),
            quantity,
            unit: String::new(),
            fob,
            criterion,
            materials,
            processes: v("processes")
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
            rvc_method: tongguan_origin::RvcMethod::BuildDown,
            build_up: None,
            weight_kg: None,
        }],
    };
    let kctx = keyed(
        &ctx,
        &f.key,
        &serde_json::to_string(&input).unwrap_or_default(),
    );
    match app.apply_certificate(&kctx, &input).await {
        Ok(reply) => {
            let id = serde_json::from_str::<serde_json::Value>(&reply.body)
                .ok()
                .and_then(|v| v["id"].as_str().map(str::to_string))
                .unwrap_or_default();
            Redirect::to(&format!("/app/certificates/{id}")).into_response()
        }
        Err(AppError::Invalid(vs)) => {
            let errors =
                vs.0.iter()
                    .map(|x| format!("{}: {}", x.path, l.violation(&x.rule, &x.message)))
                    .collect();
            let mut r = page(&CertificateFormPage::new(
                chrome(l, &ctx, "/app/certificates/new"),
                f.fields.clone(),
                errors,
            ));
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            r
        }
        Err(e) => error_page(l, &e),
    }
}

#[derive(Template)]
#[template(path = "certificate.html")]
pub(super) struct CertificatePage {
    c: Chrome,
    id: Uuid,
    status: String,
    number: Option<(String, String)>,
    checks: Vec<(String, bool, String)>,
}

pub(super) async fn certificate(
    State(app): State<AppState>,
    headers: HeaderMap,
    WebUser(ctx): WebUser,
    Path(id): Path<Uuid>,
) -> Response {
    let l = Lang::of(&headers);
    match app.certificate(&ctx, id).await {
        Ok(cert) => page(&CertificatePage {
            c: chrome(l, &ctx, format!("/app/certificates/{id}")),
            id,
            status: l.t(&format!("cert_{}", cert.status)).to_string(),
            number: cert.number.clone().zip(cert.verification_code.clone()),
            // The review wrote each check in both languages: show the page's.
            checks: cert
                .checks
                .iter()
                .map(|c| {
                    let msg = match l {
                        Lang::En => &c["message_en"],
                        Lang::Zh => &c["message_zh"],
                    };
                    (
                        c["code"].as_str().unwrap_or_default().to_string(),
                        c["passed"] == true,
                        msg.as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect(),
        }),
        Err(e) => error_page(l, &e),
    }
}
