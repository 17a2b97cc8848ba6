//! The in-memory view of the dataset versions in force.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use crate::{DatasetId, DatasetKind, DatasetVersion, RefEntry};

/// Summary of one stored dataset version, as listed by [`Catalog::versions`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct VersionInfo {
    /// Dataset of the version.
    pub dataset: DatasetId,
    /// Version label (for per-year datasets the year).
    pub label: String,
    /// First day the version applies.
    pub valid_from: NaiveDate,
    /// Where the data comes from.
    pub source: String,
    /// Number of entries in the version.
    pub entries: usize,
    /// Whether the catalog uses this version.
    pub in_force: bool,
}

/// In-memory view of the versions in force, for lookups, text search and validation.
///
/// Built once from every stored version ([`Catalog::build`]); queries never allocate on
/// [`Catalog::get`] / [`Catalog::contains`] (a hash index over the entries sorted by code).
#[derive(Clone)]
pub struct Catalog {
    tables: Vec<Table>,
    versions: Vec<VersionInfo>,
    in_force: Vec<Option<String>>,
}

/// The entries in force for one dataset.
#[derive(Clone, Default)]
struct Table {
    /// Sorted by code, codes unique.
    entries: Vec<RefEntry>,
    /// Per entry: lower-cased `code \n name_en \n name_zh`, for search.
    haystacks: Vec<String>,
    /// Per entry: byte length of the lower-cased code at the start of its haystack.
    code_lens: Vec<usize>,
    /// Parent code → indices of its children (ascending = code order).
    children: HashMap<String, Vec<usize>>,
    /// Code → index: declarations look codes up dozens of times each, and a binary search
    /// over the wide entries missed the cache at every step (7 % of a submission's CPU).
    by_code: HashMap<String, usize>,
}

impl Table {
    fn new(mut entries: Vec<RefEntry>) -> Table {
        // Stable sort + dedup keeps the first entry of a repeated code.
        entries.sort_by(|a, b| a.code.cmp(&b.code));
        entries.dedup_by(|later, earlier| later.code == earlier.code);
        let mut haystacks = Vec::with_capacity(entries.len());
        let mut code_lens = Vec::with_capacity(entries.len());
        let mut children: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_code = HashMap::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            by_code.insert(e.code.clone(), i);
            let code = e.code.to_lowercase();
            code_lens.push(code.len());
            let mut hay = code;
            for name in [&e.name_en, &e.name_zh].into_iter().flatten() {
                hay.push('\n');
                hay.push_str(&name.to_lowercase());
            }
            haystacks.push(hay);
            if let Some(parent) = &e.parent {
                children.entry(parent.clone()).or_default().push(i);
            }
        }
        Table {
            entries,
            haystacks,
            code_lens,
            children,
            by_code,
        }
    }
}

impl Catalog {
    /// Build the catalog from all stored versions in load order (later = loaded later).
    ///
    /// For [`DatasetKind::Whole`] datasets `today` decides which version is in force: the one
    /// with the greatest `valid_from <= today` (ties: the later loaded); if none is valid
    /// yet, the earliest (ties: the later loaded). For [`DatasetKind::PerYear`] datasets every
    /// year is in force, the latest loaded version per label winning; when two years list the
    /// same date (a notice reaching into the previous December) the later year's entry wins.
    pub fn build(versions: Vec<DatasetVersion>, today: NaiveDate) -> Catalog {
        let mut by_dataset: Vec<Vec<usize>> = vec![Vec::new(); DatasetId::ALL.len()];
        for (i, v) in versions.iter().enumerate() {
            by_dataset[v.dataset.index()].push(i);
        }
        let mut in_force_flags = vec![false; versions.len()];
        let mut in_force_labels: Vec<Option<String>> = vec![None; DatasetId::ALL.len()];
        for dataset in DatasetId::ALL {
            let ids = &by_dataset[dataset.index()];
            match dataset.kind() {
                DatasetKind::Whole => {
                    let valid = ids
                        .iter()
                        .filter(|&&i| versions[i].valid_from <= today)
                        .max_by_key(|&&i| (versions[i].valid_from, i));
                    let chosen = valid.or_else(|| {
                        ids.iter()
                            .min_by_key(|&&i| (versions[i].valid_from, std::cmp::Reverse(i)))
                    });
                    if let Some(&i) = chosen {
                        in_force_flags[i] = true;
                        in_force_labels[dataset.index()] = Some(versions[i].label.clone());
                    }
                }
                DatasetKind::PerYear => {
                    let mut latest: BTreeMap<(i64, &str), usize> = BTreeMap::new();
                    for &i in ids {
                        let label = versions[i].label.as_str();
                        latest.insert((label.parse::<i64>().unwrap_or(i64::MIN), label), i);
                    }
                    for &i in latest.values() {
                        in_force_flags[i] = true;
                    }
                    in_force_labels[dataset.index()] =
                        latest.keys().next_back().map(|(_, l)| (*l).to_owned());
                }
            }
        }

        let infos: Vec<VersionInfo> = versions
            .iter()
            .zip(&in_force_flags)
            .map(|(v, &in_force)| VersionInfo {
                dataset: v.dataset,
                label: v.label.clone(),
                valid_from: v.valid_from,
                source: v.source.clone(),
                entries: v.entries.len(),
                in_force,
            })
            .collect();

        // Collect the entries of the versions in force; per-year versions in label order so
        // that a later year overrides an earlier one for the same date.
        let mut in_force_versions: Vec<(usize, DatasetVersion)> = versions
            .into_iter()
            .enumerate()
            .filter(|(i, _)| in_force_flags[*i])
            .collect();
        in_force_versions.sort_by(|(ia, a), (ib, b)| {
            let year = |v: &DatasetVersion| v.label.parse::<i64>().unwrap_or(i64::MIN);
            (a.dataset, year(a), a.label.as_str(), ia).cmp(&(
                b.dataset,
                year(b),
                b.label.as_str(),
                ib,
            ))
        });
        let mut pending: Vec<Vec<RefEntry>> = vec![Vec::new(); DatasetId::ALL.len()];
        for (_, v) in in_force_versions {
            let slot = &mut pending[v.dataset.index()];
            match v.dataset.kind() {
                DatasetKind::Whole => *slot = v.entries,
                DatasetKind::PerYear => {
                    // Later versions first so that dedup (which keeps the first) prefers them.
                    let mut entries = v.entries;
                    entries.append(slot);
                    *slot = entries;
                }
            }
        }
        Catalog {
            tables: pending.into_iter().map(Table::new).collect(),
            versions: infos,
            in_force: in_force_labels,
        }
    }

    fn table(&self, dataset: DatasetId) -> &Table {
        &self.tables[dataset.index()]
    }

    /// The entry with exactly this code (case-sensitive) in the version in force.
    pub fn get(&self, dataset: DatasetId, code: &str) -> Option<&RefEntry> {
        let table = self.table(dataset);
        table.by_code.get(code).map(|&i| &table.entries[i])
    }

    /// Whether `code` exists in the version in force.
    pub fn contains(&self, dataset: DatasetId, code: &str) -> bool {
        self.get(dataset, code).is_some()
    }

    /// All entries in force, sorted by code.
    pub fn entries(&self, dataset: DatasetId) -> &[RefEntry] {
        &self.table(dataset).entries
    }

    /// Case-insensitive substring search over code, name_en and name_zh. Results: exact code
    /// matches first (a case-sensitive match before a case-insensitive one), then code-prefix
    /// matches, then the rest, each group in code order. Returns the page
    /// (`offset`, at most `limit` entries) and the total number of matches. An empty query
    /// matches everything.
    pub fn search(
        &self,
        dataset: DatasetId,
        query: &str,
        limit: usize,
        offset: usize,
    ) -> (Vec<&RefEntry>, usize) {
        let table = self.table(dataset);
        let query = query.trim();
        let needle = query.to_lowercase();
        let mut exact_cased = Vec::new();
        let mut exact = Vec::new();
        let mut prefix = Vec::new();
        let mut rest = Vec::new();
        for (i, hay) in table.haystacks.iter().enumerate() {
            let code = &hay[..table.code_lens[i]];
            if code == needle {
                if table.entries[i].code == query {
                    exact_cased.push(i);
                } else {
                    exact.push(i);
                }
            } else if code.starts_with(&needle) {
                prefix.push(i);
            } else if hay.contains(&needle) {
                rest.push(i);
            }
        }
        let total = exact_cased.len() + exact.len() + prefix.len() + rest.len();
        let page = exact_cased
            .into_iter()
            .chain(exact)
            .chain(prefix)
            .chain(rest)
            .skip(offset)
            .take(limit)
            .map(|i| &table.entries[i])
            .collect();
        (page, total)
    }

    /// Entries whose parent is `parent`, in code order (e.g. HS chapter `84` → its headings,
    /// district `5300` → its subordinate customs, country `CN` → its UN/LOCODEs).
    pub fn children(&self, dataset: DatasetId, parent: &str) -> Vec<&RefEntry> {
        let table = self.table(dataset);
        table
            .children
            .get(parent)
            .map(|ids| ids.iter().map(|&i| &table.entries[i]).collect())
            .unwrap_or_default()
    }

    /// Every stored version in load order, with `in_force` marked.
    pub fn versions(&self) -> Vec<VersionInfo> {
        self.versions.clone()
    }

    /// Label of the version in force (for per-year datasets: the newest year), `None` if the
    /// dataset has no version.
    pub fn version_in_force(&self, dataset: DatasetId) -> Option<&str> {
        self.in_force[dataset.index()].as_deref()
    }
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut map = f.debug_map();
        for dataset in DatasetId::ALL {
            map.entry(
                &dataset.as_str(),
                &format_args!(
                    "{} entries, version {}",
                    self.table(dataset).entries.len(),
                    self.version_in_force(dataset).unwrap_or("-")
                ),
            );
        }
        map.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(
        dataset: DatasetId,
        label: &str,
        from: (i32, u32, u32),
        codes: &[&str],
    ) -> DatasetVersion {
        DatasetVersion {
            dataset,
            label: label.to_owned(),
            valid_from: NaiveDate::from_ymd_opt(from.0, from.1, from.2).unwrap(),
            source: "test".to_owned(),
            entries: codes.iter().map(|c| RefEntry::new(*c)).collect(),
        }
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn whole_version_choice() {
        let versions = vec![
            version(DatasetId::Units, "a", (2020, 1, 1), &["001"]),
            version(DatasetId::Units, "b", (2022, 1, 1), &["002"]),
            version(DatasetId::Units, "c", (2022, 1, 1), &["003"]),
            version(DatasetId::Units, "d", (2030, 1, 1), &["004"]),
        ];
        let c = Catalog::build(versions.clone(), day(2019, 6, 1));
        assert_eq!(c.version_in_force(DatasetId::Units), Some("a"));
        let c = Catalog::build(versions.clone(), day(2021, 6, 1));
        assert_eq!(c.version_in_force(DatasetId::Units), Some("a"));
        // Tie on valid_from: the later loaded wins.
        let c = Catalog::build(versions.clone(), day(2023, 6, 1));
        assert_eq!(c.version_in_force(DatasetId::Units), Some("c"));
        assert!(c.contains(DatasetId::Units, "003"));
        assert!(!c.contains(DatasetId::Units, "001"));
        let infos = c.versions();
        assert_eq!(infos.iter().filter(|v| v.in_force).count(), 1);
        assert_eq!(c.version_in_force(DatasetId::Hs), None);
        // Nothing valid yet: the earliest.
        let c = Catalog::build(versions[3..].to_vec(), day(2023, 6, 1));
        assert_eq!(c.version_in_force(DatasetId::Units), Some("d"));
    }

    #[test]
    fn per_year_versions_combine() {
        let mut v2019 = version(
            DatasetId::Holidays,
            "2019",
            (2019, 1, 1),
            &["2018-12-31", "2019-10-01"],
        );
        v2019.entries[0].name_zh = Some("2019 notice".to_owned());
        let mut v2018 = version(
            DatasetId::Holidays,
            "2018",
            (2018, 1, 1),
            &["2018-12-31", "2018-10-01"],
        );
        v2018.entries[0].name_zh = Some("2018 notice".to_owned());
        let old2020 = version(DatasetId::Holidays, "2020", (2020, 1, 1), &["2020-01-02"]);
        let new2020 = version(DatasetId::Holidays, "2020", (2020, 1, 1), &["2020-01-01"]);
        let c = Catalog::build(vec![v2019, v2018, old2020, new2020], day(2000, 1, 1));
        assert_eq!(c.version_in_force(DatasetId::Holidays), Some("2020"));
        assert!(c.contains(DatasetId::Holidays, "2018-10-01"));
        assert!(c.contains(DatasetId::Holidays, "2019-10-01"));
        assert!(c.contains(DatasetId::Holidays, "2020-01-01"));
        assert!(!c.contains(DatasetId::Holidays, "2020-01-02"));
        assert_eq!(
            c.get(DatasetId::Holidays, "2018-12-31")
                .unwrap()
                .name_zh
                .as_deref(),
            Some("2019 notice")
        );
        let flags: Vec<bool> = c.versions().iter().map(|v| v.in_force).collect();
        assert_eq!(flags, [true, true, false, true]);
    }

    #[test]
    fn search_order() {
        let mut entries: Vec<RefEntry> = ["b", "B", "ba", "ab", "x"]
            .iter()
            .map(|c| RefEntry::new(*c))
            .collect();
        entries[4].name_en = Some("Contains B".to_owned());
        let v = DatasetVersion {
            dataset: DatasetId::LicenceCodes,
            label: "t".to_owned(),
            valid_from: day(2019, 1, 1),
            source: String::new(),
            entries,
        };
        let c = Catalog::build(vec![v], day(2020, 1, 1));
        let (page, total) = c.search(DatasetId::LicenceCodes, "B", 10, 0);
        let codes: Vec<&str> = page.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(codes, ["B", "b", "ba", "ab", "x"]);
        assert_eq!(total, 5);
        let (page, total) = c.search(DatasetId::LicenceCodes, "b", 2, 1);
        let codes: Vec<&str> = page.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(codes, ["B", "ba"]);
        assert_eq!(total, 5);
    }
}
