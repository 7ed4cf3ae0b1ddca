//! Kombo's job (`GetAtsJobsPositiveResponseResult`) and what it nests.

use serde_json::{json, Value};

use super::super::data::{timestamp, EmploymentType, Job, JobStatus, Tenant, DEPARTMENTS, OFFICES};
use super::{address, merge};

/// A job as `GetAtsJobsPositiveResponseResult`.
pub(super) fn job(t: &Tenant, j: &Job) -> Value {
    let office = &OFFICES[j.office];
    let post_url = format!("https://jobs.{}/{}", t.domain, j.slug());
    let description = format!(
        "<p>{} is looking for a {} to join its {} team in {}.</p>",
        crate::error::html_escape(&t.org_name),
        j.title,
        DEPARTMENTS[j.department].name,
        office.city
    );
    let experience = if j.title.starts_with("Senior") || j.title.starts_with("Staff") {
        Some("Senior")
    } else {
        None
    };
    let mut row = json!({
        "id": t.token("job", j.index),
        "remote_id": j.remote_id(t),
        "name": j.title,
        "job_code": j.job_code(),
        "description": description,
        "confidential": false,
        "weekly_hours": if j.employment_type == EmploymentType::Internship { 30 } else { 40 },
        "category": DEPARTMENTS[j.department].name,
        "department": DEPARTMENTS[j.department].name,
        "post_url": (j.status != JobStatus::Draft).then_some(&post_url),
        "experience_level": experience,
        "salary_amount": null,
        "salary_amount_from": j.salary_from,
        "salary_amount_to": j.salary_to,
        "salary_currency": office.currency,
        "custom_fields": {},
        "remote_url": format!("https://{}.example/jobs/{}", t.tool, j.remote_id(t)),
        "opened_at": j.opened_at.map(timestamp),
        "closed_at": j.closed_at.map(timestamp),
        "remote_created_at": timestamp(j.created_at),
        "remote_updated_at": timestamp(j.changed_at),
    });
    let rest = json!({
        "contact_id": null,
        "changed_at": timestamp(j.changed_at),
        "remote_deleted_at": null,
        "stages": stages(t, j),
        "screening_questions": screening_questions(t, j),
        "job_postings": postings(t, j, &post_url, &description),
        "hiring_team": [
            hiring_member(t, j.hiring_manager, "HIRING_MANAGER", "Hiring Manager"),
            hiring_member(t, j.recruiter, "RECRUITER", "Recruiter"),
        ],
        "employment_type": match j.employment_type {
            EmploymentType::Internship => "INTERNSHIP",
            _ => "FULL_TIME",
        },
        "status": match j.status {
            JobStatus::Open => "OPEN",
            JobStatus::Closed => "CLOSED",
            JobStatus::Draft => "DRAFT",
        },
        "visibility": if j.status == JobStatus::Draft { "INTERNAL" } else { "PUBLIC" },
        "remote_work_status": if j.remote { "REMOTE" } else { "HYBRID" },
        "salary_period": "YEAR",
        "location": address(j.office),
    });
    merge(&mut row, rest);
    row
}

/// `Stage`: the same hiring pipeline for every job.
fn stages(t: &Tenant, j: &Job) -> Value {
    const STAGES: [&str; 5] = [
        "Application Review",
        "Phone Screen",
        "Interview",
        "Offer",
        "Hired",
    ];
    STAGES
        .iter()
        .enumerate()
        .map(|(k, name)| {
            json!({
                "id": t.token("stage", j.index * STAGES.len() + k),
                "remote_id": format!("{}-stage-{}", j.remote_id(t), k + 1),
                "name": name,
                "status": "ACTIVE",
                "custom_fields": null,
                "index": k,
            })
        })
        .collect()
}

/// `ScreeningQuestion`s: a text, a yes/no and a single-choice question, so the
/// discriminated `format` union is exercised three ways.
fn screening_questions(t: &Tenant, j: &Job) -> Value {
    let id = |k: usize| t.token("screening_question", j.index * 3 + k);
    let option = |k: usize, name: &str| {
        json!({
            "id": t.token("screening_option", j.index * 10 + k),
            "name": name,
            "remote_id": format!("opt-{}", k + 1),
        })
    };
    json!([
        {
            "id": id(0),
            "remote_id": "motivation",
            "title": format!("Why would you like to join {}?", t.org_name),
            "description": null,
            "category": null,
            "required": true,
            "format": { "type": "TEXT", "display_type": "MULTI_LINE", "max_length": 2000 },
            "index": 0,
            "precondition_question_id": null,
            "precondition_options": null,
        },
        {
            "id": id(1),
            "remote_id": "work_permit",
            "title": format!("Are you allowed to work in {}?", OFFICES[j.office].country),
            "description": null,
            "category": null,
            "required": true,
            "format": { "type": "BOOLEAN" },
            "index": 1,
            "precondition_question_id": null,
            "precondition_options": null,
        },
        {
            "id": id(2),
            "remote_id": "source",
            "title": "How did you hear about us?",
            "description": null,
            "category": null,
            "required": false,
            "format": {
                "type": "SINGLE_SELECT",
                "display_type": "DROPDOWN",
                "options": [option(0, "LinkedIn"), option(1, "A friend"), option(2, "Our website")],
            },
            "index": 2,
            "precondition_question_id": null,
            "precondition_options": null,
        },
    ])
}

/// `JobPosting`s: one on the careers page, none for a draft.
fn postings(t: &Tenant, j: &Job, url: &str, description: &str) -> Value {
    if j.status == JobStatus::Draft {
        return json!([]);
    }
    json!([{
        "id": t.token("job_posting", j.index),
        "remote_id": format!("{}-posting", j.remote_id(t)),
        "title": j.title,
        "description_html": description,
        "status": if j.status == JobStatus::Open { "ACTIVE" } else { "INACTIVE" },
        "visibility": "PUBLIC",
        "url": url,
    }])
}

/// `GetAtsJobsPositiveResponseHiringTeam`: an ATS user (one of the employees).
fn hiring_member(t: &Tenant, person: usize, role: &str, label: &str) -> Value {
    let p = t.person(person);
    json!({
        "id": t.token("ats_user", person),
        "remote_id": p.remote_id(t),
        "first_name": p.first_name,
        "last_name": p.last_name,
        "email": p.work_email(t),
        "hiring_team_roles": [role],
        "job_roles": [{
            "remote_id": role.to_ascii_lowercase(),
            "remote_label": label,
            "unified_type": role,
            "scope": "JOB",
        }],
    })
}
