//! An organization's sample employees.

use super::catalog::{Gender, DEPARTMENTS, FIRST_NAMES, HEAD_TITLES, LAST_NAMES, OFFICES};
use super::{email_local, Tenant, DAY, SAMPLE_NOW};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Active,
    /// Signed, not started yet.
    Pending,
    Leave,
    /// Left the company (has a termination date).
    Inactive,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmploymentType {
    FullTime,
    PartTime,
    Contract,
    Internship,
}

/// One employee, as the HR system behind the integration holds them.
#[derive(Clone, Debug)]
pub struct Person {
    pub index: usize,
    pub first_name: &'static str,
    pub last_name: &'static str,
    pub gender: Gender,
    /// The local part of the work email (`zoe.angstrom`).
    pub email_local: String,
    /// Index into `DEPARTMENTS`.
    pub department: usize,
    pub job_title: &'static str,
    /// Index into `OFFICES`.
    pub office: usize,
    /// The index of their manager (none for the CEO).
    pub manager: Option<usize>,
    pub status: Status,
    pub employment_type: EmploymentType,
    pub weekly_hours: f64,
    /// Yearly base salary, in the office's currency.
    pub salary: u32,
    pub nationality: &'static str,
    /// Seconds since the epoch (midnight UTC).
    pub date_of_birth: u64,
    pub start_date: u64,
    pub termination_date: Option<u64>,
    /// When the record was created in the HR system / last changed.
    pub created_at: u64,
    pub changed_at: u64,
    pub mobile_digits: u64,
    /// Days of paid leave left this year, and used.
    pub vacation_left: f64,
    pub vacation_used: f64,
    pub cost_center: String,
}

impl Person {
    pub fn display_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    pub fn work_email(&self, tenant: &Tenant) -> String {
        format!("{}@{}", self.email_local, tenant.domain)
    }

    pub fn mobile(&self) -> String {
        format!("{} {}", OFFICES[self.office].dial, self.mobile_digits)
    }

    /// The HR system's own id for this person.
    pub fn remote_id(&self, tenant: &Tenant) -> String {
        (10_000 + tenant.seed % 50_000 + self.index as u64 * 7).to_string()
    }

    pub fn employee_number(&self) -> String {
        format!("{:05}", self.index + 1)
    }
}

/// Heads of department are employees 1..=7 (department `i - 1`), reporting to the CEO
/// (employee 0); everyone else reports to their department's head.
pub(super) fn person(tenant: &Tenant, index: usize) -> Person {
    let mut rng = tenant.rng("person", index);
    let (first_name, gender) =
        FIRST_NAMES[(index + (tenant.seed % 41) as usize) % FIRST_NAMES.len()];
    let last_name = LAST_NAMES[(index + (tenant.seed >> 8) as usize % 37) % LAST_NAMES.len()];
    let heads = DEPARTMENTS.len();
    let (department, manager, job_title) = match index {
        0 => (0, None, "Chief Executive Officer"),
        i if i <= heads => (i - 1, Some(0), HEAD_TITLES[i - 1]),
        _ => {
            let d = rng.below(heads);
            let titles = DEPARTMENTS[d].titles;
            (d, Some(d + 1), titles[rng.below(titles.len())])
        }
    };
    let leader = index <= heads;
    let status = match rng.below(100) {
        _ if leader => Status::Active,
        0..=5 => Status::Inactive,
        6..=8 => Status::Leave,
        9..=10 => Status::Pending,
        _ => Status::Active,
    };
    let employment_type = match rng.below(100) {
        _ if leader => EmploymentType::FullTime,
        0..=9 => EmploymentType::PartTime,
        10..=14 => EmploymentType::Contract,
        15..=17 => EmploymentType::Internship,
        _ => EmploymentType::FullTime,
    };
    let weekly_hours = match employment_type {
        EmploymentType::PartTime => 20.0 + 4.0 * rng.below(4) as f64,
        EmploymentType::Internship => 30.0,
        _ => 40.0,
    };
    let office = rng.below(OFFICES.len());
    let start_date = match status {
        Status::Pending => SAMPLE_NOW / DAY * DAY + (14 + rng.below(60) as u64) * DAY,
        _ => SAMPLE_NOW / DAY * DAY - (60 + rng.below(3600) as u64) * DAY,
    };
    let termination_date = (status == Status::Inactive)
        .then(|| (start_date + (200 + rng.below(900) as u64) * DAY).min(SAMPLE_NOW / DAY * DAY));
    let salary_band = if leader { 120_000 } else { 48_000 };
    let vacation_used = rng.below(20) as f64;
    Person {
        index,
        first_name,
        last_name,
        gender,
        email_local: email_local(first_name, last_name),
        department,
        job_title,
        office,
        manager,
        status,
        employment_type,
        weekly_hours,
        salary: salary_band + 1_000 * rng.below(60) as u32,
        nationality: OFFICES[rng.below(OFFICES.len())].country,
        // 1970–1997: of age at the earliest start date (2016).
        date_of_birth: rng.below(10_200) as u64 * DAY,
        start_date,
        termination_date,
        created_at: start_date - (20 + rng.below(40) as u64) * DAY,
        changed_at: SAMPLE_NOW - rng.below(90 * 24) as u64 * 3_600,
        mobile_digits: 1_500_000_000 + rng.next() % 500_000_000,
        vacation_left: 30.0 - vacation_used,
        vacation_used,
        cost_center: format!("CC-{}", 1_000 + 100 * (department as u32 + 1)),
    }
}
