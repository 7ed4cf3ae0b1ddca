//! An organization's sample jobs (for the ATS endpoints).

use super::catalog::{DEPARTMENTS, OFFICES};
use super::people::EmploymentType;
use super::{slug, Tenant, DAY, SAMPLE_NOW};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStatus {
    Open,
    Closed,
    Draft,
}

/// One open (or closed, or draft) position in the ATS behind the integration.
#[derive(Clone, Debug)]
pub struct Job {
    pub index: usize,
    pub title: String,
    /// Index into `DEPARTMENTS`.
    pub department: usize,
    /// Index into `OFFICES`.
    pub office: usize,
    pub status: JobStatus,
    pub remote: bool,
    pub employment_type: EmploymentType,
    pub salary_from: u32,
    pub salary_to: u32,
    pub created_at: u64,
    pub opened_at: Option<u64>,
    pub closed_at: Option<u64>,
    pub changed_at: u64,
    /// Employee indexes: the hiring manager (the department's head) and a recruiter.
    pub hiring_manager: usize,
    pub recruiter: usize,
}

impl Job {
    pub fn job_code(&self) -> String {
        format!("JOB-{:04}", self.index + 1)
    }

    /// A URL-safe name: `senior-software-engineer-berlin-hq-7`.
    pub fn slug(&self) -> String {
        format!(
            "{}-{}-{}",
            slug(&self.title),
            slug(OFFICES[self.office].name),
            self.index + 1
        )
    }

    pub fn remote_id(&self, tenant: &Tenant) -> String {
        (500 + tenant.seed % 9_000 + self.index as u64 * 3).to_string()
    }
}

/// The head of People (employee 4) recruits for every job.
const RECRUITER: usize = 4;

pub(super) fn job(tenant: &Tenant, index: usize) -> Job {
    let mut rng = tenant.rng("job", index);
    let department = rng.below(DEPARTMENTS.len());
    let titles = DEPARTMENTS[department].titles;
    let title = titles[rng.below(titles.len())].to_string();
    let status = match rng.below(10) {
        0 | 1 => JobStatus::Closed,
        2 => JobStatus::Draft,
        _ => JobStatus::Open,
    };
    let created_at = SAMPLE_NOW - (10 + rng.below(300) as u64) * DAY;
    let opened_at = (status != JobStatus::Draft).then_some(created_at + DAY);
    let closed_at = (status == JobStatus::Closed).then_some(created_at + 45 * DAY);
    let salary_from = 45_000 + 5_000 * rng.below(10) as u32;
    Job {
        index,
        title,
        department,
        office: rng.below(OFFICES.len()),
        status,
        remote: rng.percent(30),
        employment_type: if rng.percent(10) {
            EmploymentType::Internship
        } else {
            EmploymentType::FullTime
        },
        salary_from,
        salary_to: salary_from + 20_000,
        created_at,
        opened_at,
        closed_at,
        changed_at: SAMPLE_NOW - rng.below(24 * 9) as u64 * 3_600,
        hiring_manager: department + 1,
        recruiter: RECRUITER,
    }
}
