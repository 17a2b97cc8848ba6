//! Smart reviews per second in process, on one core (issue 7 target: ≥ 50,000/s): a
//! five-item application, each item with a five-line bill of materials, claiming the
//! product-specific rule (CTSH / CTH / CC / RVC40 rows of the shipped table), reviewed with
//! every message built in both languages and the work shown.
//!
//! `cargo bench -p tongguan-origin --bench review`

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use tongguan_origin::{
    Application, Criterion, Item, Material, MaterialRole, OriginRules, RvcMethod, review,
};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn mat(hs: &str, origin: &str, value: i64) -> Material {
    Material {
        hs_code: hs.into(),
        description: "part".into(),
        origin: origin.into(),
        value: Decimal::new(value, 0),
        weight_kg: None,
        role: MaterialRole::Material,
    }
}

fn item(hs: &str, materials: Vec<Material>) -> Item {
    Item {
        hs_code: hs.into(),
        description: "goods".into(),
        quantity: Decimal::new(10, 0),
        unit: "007".into(),
        fob: Decimal::new(1000, 0),
        criterion: Criterion::ProductSpecific,
        materials,
        processes: vec!["assembling".into(), "testing".into()],
        rvc_method: RvcMethod::BuildDown,
        build_up: None,
        weight_kg: None,
    }
}

fn application(n: usize) -> Application {
    let origin = ["USA", "JPN", "DEU", "KOR", ""][n % 5];
    Application {
        exporting_party: "CHN".into(),
        importing_party: ["JPN", "KOR", "AUS", "THA"][n % 4].into(),
        importer_name: "Importer".into(),
        invoice_no: format!("INV{n}"),
        invoice_date: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap_or_default(),
        date: NaiveDate::from_ymd_opt(2026, 11, 27).unwrap_or_default(),
        total_fob: None,
        items: vec![
            item(
                "8518.40",
                vec![
                    mat("8518.90", origin, 200),
                    mat("8518.29", "CHN", 100),
                    mat("8541.10", origin, 50),
                    mat("8532.24", "JPN", 40),
                    mat("3926.90", origin, 30),
                ],
            ),
            item(
                "8509.80",
                vec![
                    mat("8509.90", origin, 150),
                    mat("8501.10", origin, 120),
                    mat("8536.50", "CHN", 30),
                    mat("7318.15", origin, 10),
                    mat("8509.80", origin, 60),
                ],
            ),
            item(
                "2710.19",
                vec![
                    mat("2709.00", "SAU", 500),
                    mat("3811.21", origin, 40),
                    mat("2710.12", origin, 50),
                    mat("3403.19", "CHN", 20),
                    mat("2901.10", origin, 10),
                ],
            ),
            item(
                "1302.20",
                vec![
                    mat("0810.90", origin, 300),
                    mat("1302.19", origin, 60),
                    mat("2811.19", "CHN", 20),
                    mat("1701.99", origin, 30),
                    mat("2918.14", origin, 10),
                ],
            ),
            item(
                "9403.60",
                vec![
                    mat("4407.11", "RUS", 300),
                    mat("4412.33", origin, 100),
                    mat("8302.42", "CHN", 50),
                    mat("3208.10", origin, 20),
                    mat("9403.99", origin, 40),
                ],
            ),
        ],
    }
}

fn main() {
    let rules = OriginRules::shipped();
    let apps: Vec<Application> = (0..1024).map(application).collect();
    // Warm up.
    let mut approved = 0usize;
    for a in &apps {
        approved += usize::from(review(a, &rules).approved);
    }
    let n = 200_000;
    let mut lat: Vec<Duration> = Vec::with_capacity(20_000);
    let started = Instant::now();
    for i in 0..n {
        let t = Instant::now();
        let r = review(&apps[i % apps.len()], &rules);
        if i % 10 == 0 {
            lat.push(t.elapsed());
        }
        std::hint::black_box(r);
    }
    let wall = started.elapsed();
    lat.sort();
    let p = |q: f64| lat[((lat.len() as f64 - 1.0) * q) as usize].as_secs_f64() * 1e6;
    println!(
        "origin review, five items x five materials: {n} reviews in {:.2} s on one core: {:.0} reviews/s; p50 {:.1} µs p99 {:.1} µs ({approved} of 1024 warm-up applications approved)",
        wall.as_secs_f64(),
        n as f64 / wall.as_secs_f64(),
        p(0.5),
        p(0.99)
    );
}
