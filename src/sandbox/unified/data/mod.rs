//! The sample organization behind one integration: people and open positions, the same
//! on every call (everything derives from a hash of the integration's id, not from a
//! random generator), so pages can be fetched in any order and tests can name rows.
//!
//! Vendor-neutral: `kombo/` and `bindbee.rs` render these rows in each vendor's schema.

mod catalog;
mod jobs;
mod people;

use std::time::{Duration, UNIX_EPOCH};

pub use catalog::{Gender, DEPARTMENTS, OFFICES};
pub use jobs::{Job, JobStatus};
pub use people::{EmploymentType, Person, Status};

/// Employees per integration: more than one page at every vendor's default page size.
pub const EMPLOYEES: usize = 120;
/// Jobs per (Kombo) integration.
pub const JOBS: usize = 30;

/// The instant the sample data was "last synced": fixed, so answers are reproducible
/// (2026-11-30T09:00:00Z).
const SAMPLE_NOW: u64 = 1_796_029_200;
const DAY: u64 = 86_400;

/// Whose data an integration holds: what the vendor knows about the connected customer.
#[derive(Clone, Debug)]
pub struct Tenant {
    pub org_name: String,
    /// The organization's email domain (work emails end in `@domain`).
    pub domain: String,
    /// The connected tool (`personio`, `bamboohr`, ...).
    pub tool: String,
    /// `HRIS`, `ATS`, ... as the vendor recorded it.
    pub category: String,
    seed: u64,
}

impl Tenant {
    /// The sample data of the integration (Kombo) or connector (Bindbee) with this `id`.
    /// `email` (the end user's, when the vendor has it) names the domain; else
    /// `origin_id` when it looks like one (`acme.com`); else the organization's name.
    pub fn new(
        id: &str,
        org_name: &str,
        tool: &str,
        category: &str,
        email: Option<&str>,
        origin_id: &str,
    ) -> Tenant {
        let from_email = email
            .and_then(|e| e.rsplit_once('@'))
            .map(|(_, d)| d.to_ascii_lowercase())
            .filter(|d| is_domain(d));
        let from_origin = Some(origin_id.to_ascii_lowercase()).filter(|d| is_domain(d));
        let domain = from_email
            .or(from_origin)
            .unwrap_or_else(|| format!("{}.example", slug(org_name)));
        Tenant {
            org_name: org_name.to_string(),
            domain,
            tool: tool.to_string(),
            category: category.to_string(),
            seed: fnv1a(id.as_bytes()),
        }
    }

    /// A number that stands for (`kind`, `index`) in this tenant: ids and attributes.
    fn hash(&self, kind: &str, index: usize) -> u64 {
        mix(self.seed ^ fnv1a(kind.as_bytes()) ^ mix(index as u64 + 1))
    }

    /// An id in Kombo's shape (`8d1hpPsbjxUkoCoa1veLZGe5`: 24 base58 characters) for
    /// (`kind`, `index`).
    pub fn token(&self, kind: &str, index: usize) -> String {
        const BASE58: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
        let mut rng = self.rng(kind, index);
        (0..24)
            .map(|_| char::from(BASE58[rng.below(BASE58.len())]))
            .collect()
    }

    /// A UUID in Bindbee's shape (version 7, `018b18ef-c487-703c-afd9-0ca478ccd9d6`) for
    /// (`kind`, `index`).
    pub fn uuid(&self, kind: &str, index: usize) -> String {
        let mut rng = self.rng(kind, index);
        // A version 7 UUID starts with a millisecond timestamp: one in 2024, as the
        // vendor's own example ids are.
        let millis = 1_704_067_200_000 + rng.next() % 31_536_000_000;
        let (a, b) = (rng.next(), rng.next());
        format!(
            "{:08x}-{:04x}-7{:03x}-{:04x}-{:012x}",
            millis >> 16,
            millis & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48) & 0x3fff,
            b & 0xffff_ffff_ffff
        )
    }

    /// A deterministic stream of numbers for (`kind`, `index`).
    fn rng(&self, kind: &str, index: usize) -> SplitMix {
        SplitMix(self.hash(kind, index))
    }

    /// The `index`th employee (`index < EMPLOYEES`).
    pub fn person(&self, index: usize) -> Person {
        people::person(self, index)
    }

    /// The `index`th job (`index < JOBS`).
    pub fn job(&self, index: usize) -> Job {
        jobs::job(self, index)
    }
}

/// A domain name as an email's right-hand side: `acme.com`, `mail.acme.co.uk`.
fn is_domain(s: &str) -> bool {
    s.contains('.')
        && !s.starts_with('.')
        && !s.ends_with('.')
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// `Acme & Co. GmbH` → `acme-co-gmbh`; `Zoë` → `zoe`.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        match fold(c) {
            Some(f) => out.push_str(f),
            None if c.is_ascii_alphanumeric() => out.push(c),
            None if !out.is_empty() && !out.ends_with('-') => out.push('-'),
            None => {}
        }
    }
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "org".into()
    } else {
        out.into()
    }
}

/// The ASCII letters a lower-case non-ASCII letter of the sample names is written with
/// in an email address.
fn fold(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ä' | 'å' | 'ã' => "a",
        'æ' => "ae",
        'ç' => "c",
        'è' | 'é' | 'ê' | 'ë' | 'ễ' => "e",
        'í' | 'ï' => "i",
        'ł' => "l",
        'ñ' => "n",
        'ó' | 'ô' | 'ö' | 'ø' => "o",
        'ß' => "ss",
        'ú' | 'ü' => "u",
        _ => return None,
    })
}

/// The local part of a work email: `zoe.angstrom` for Zoë Ångström, `liam.obrien` for
/// Liam O'Brien.
fn email_local(first: &str, last: &str) -> String {
    let part = |s: &str| {
        s.chars()
            .flat_map(char::to_lowercase)
            .filter_map(|c| match fold(c) {
                Some(f) => Some(f.to_string()),
                None if c.is_ascii_alphanumeric() => Some(c.to_string()),
                None => None,
            })
            .collect::<String>()
    };
    format!("{}.{}", part(first), part(last))
}

/// FNV-1a: a hash whose value never changes between Rust releases (std's does not
/// promise that), so sample ids are the same on every build.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// SplitMix64's finalizer: spreads nearby inputs over the whole range.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// SplitMix64: a tiny deterministic generator.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `percent`/100.
    fn percent(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// `seconds` since the epoch as RFC 3339 with milliseconds (`2026-11-30T09:00:00.000Z`),
/// as Kombo writes times.
pub fn timestamp(seconds: u64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_secs(seconds)).to_string()
}

/// `seconds` since the epoch as RFC 3339 in whole seconds (`2026-11-30T09:00:00Z`), as
/// Bindbee's examples write times.
pub fn timestamp_seconds(seconds: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(seconds)).to_string()
}
