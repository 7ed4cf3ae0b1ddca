//! Kombo's employee (`GetHrisEmployeesPositiveResponseResult`) and what it nests.

use serde_json::{json, Value};

use super::super::data::{
    timestamp, EmploymentType, Gender, Person, Status, Tenant, DEPARTMENTS, OFFICES,
};
use super::{address, merge};

/// An employee as `GetHrisEmployeesPositiveResponseResult`.
pub(super) fn employee(t: &Tenant, p: &Person) -> Value {
    let manager = p.manager.map(|m| t.person(m));
    // Kombo passes through what the HR system holds; one in ten sample people has none.
    let custom_fields = (p.index % 10 != 9).then(|| json!({ "cost_center": p.cost_center }));
    let mut row = json!({
        "id": employee_id(t, p.index),
        "remote_id": p.remote_id(t),
        "employee_number": p.employee_number(),
        "first_name": p.first_name,
        "last_name": p.last_name,
        "nationality": p.nationality,
        "display_full_name": p.display_name(),
        "job_title": p.job_title,
        "work_email": p.work_email(t),
        "personal_email": null,
        "mobile_phone_number": p.mobile(),
        "ssn": null,
        "tax_id": null,
        "gender": gender(p.gender),
        "ethnicity": null,
        "marital_status": null,
        "employment_status": status(p.status),
        "employment_type": employment_type(p.employment_type),
        "weekly_hours": p.weekly_hours,
        "avatar": null,
        "work_location_id": t.token("work_location", p.office),
        "legal_entity_id": t.token("legal_entity", 0),
        "manager_id": manager.as_ref().map(|m| employee_id(t, m.index)),
    });
    let rest = json!({
        "home_address": null,
        "bank_accounts": null,
        "date_of_birth": timestamp(p.date_of_birth),
        "start_date": timestamp(p.start_date),
        "termination_date": p.termination_date.map(timestamp),
        "remote_created_at": timestamp(p.created_at),
        "changed_at": timestamp(p.changed_at),
        "remote_deleted_at": null,
        "custom_fields": custom_fields,
        "employments": [employment(t, p)],
        "time_off_balances": [time_off_balance(t, p)],
        "manager": manager.map(|m| manager_json(t, &m)),
        "groups": [group(t, p.department)],
        "legal_entity": legal_entity(t),
        "work_location": work_location(t, p.office),
    });
    merge(&mut row, rest);
    row
}

fn employee_id(t: &Tenant, index: usize) -> String {
    t.token("employee", index)
}

fn gender(g: Gender) -> &'static str {
    match g {
        Gender::Female => "FEMALE",
        Gender::Male => "MALE",
        Gender::NonBinary => "NON_BINARY",
    }
}

fn status(s: Status) -> &'static str {
    match s {
        Status::Active => "ACTIVE",
        Status::Pending => "PENDING",
        Status::Leave => "LEAVE",
        Status::Inactive => "INACTIVE",
    }
}

fn employment_type(e: EmploymentType) -> &'static str {
    match e {
        EmploymentType::FullTime => "FULL_TIME",
        EmploymentType::PartTime => "PART_TIME",
        EmploymentType::Contract => "CONTRACT",
        EmploymentType::Internship => "INTERNSHIP",
    }
}

/// `Employment`: the current contract.
fn employment(t: &Tenant, p: &Person) -> Value {
    json!({
        "id": t.token("employment", p.index),
        "remote_id": format!("{}-1", p.remote_id(t)),
        "employee_id": employee_id(t, p.index),
        "job_title": p.job_title,
        "pay_rate": p.salary,
        "pay_currency": OFFICES[p.office].currency,
        "effective_date": timestamp(p.start_date),
        "changed_at": timestamp(p.changed_at),
        "remote_deleted_at": null,
        "custom_fields": null,
        "pay_period": "YEAR",
        "pay_frequency": "MONTHLY",
        "employment_type": employment_type(p.employment_type),
    })
}

/// `TimeOffBalance`: this year's paid leave.
fn time_off_balance(t: &Tenant, p: &Person) -> Value {
    json!({
        "id": t.token("time_off_balance", p.index),
        "remote_id": null,
        "employee_id": employee_id(t, p.index),
        "type_id": t.token("time_off_type", 0),
        "balance": p.vacation_left,
        "balance_unit": "DAYS",
        "changed_at": timestamp(p.changed_at),
        "remote_deleted_at": null,
        "used": p.vacation_used,
        "used_unit": "DAYS",
    })
}

/// `Manager`: the manager's summary inside an employee.
fn manager_json(t: &Tenant, m: &Person) -> Value {
    json!({
        "first_name": m.first_name,
        "last_name": m.last_name,
        "display_full_name": m.display_name(),
        "id": employee_id(t, m.index),
        "employee_number": m.employee_number(),
        "remote_id": m.remote_id(t),
        "termination_date": m.termination_date.map(timestamp),
        "work_email": m.work_email(t),
        "employment_status": status(m.status),
    })
}

/// `GetHrisEmployeesPositiveResponseGroup`: the department.
fn group(t: &Tenant, department: usize) -> Value {
    json!({
        "id": t.token("group", department),
        "remote_id": format!("dep-{}", department + 1),
        "name": DEPARTMENTS[department].name,
        "type": "DEPARTMENT",
    })
}

/// `GetHrisEmployeesPositiveResponseLegalEntity`: the organization itself.
fn legal_entity(t: &Tenant) -> Value {
    json!({
        "id": t.token("legal_entity", 0),
        "remote_id": "1",
        "name": t.org_name,
        "address": address(0),
    })
}

/// `WorkLocation`: an office.
fn work_location(t: &Tenant, office: usize) -> Value {
    json!({
        "id": t.token("work_location", office),
        "remote_id": format!("loc-{}", office + 1),
        "name": OFFICES[office].name,
        "type": "OFFICE",
        "changed_at": timestamp(1_767_225_600),
        "remote_deleted_at": null,
        "address": address(office),
    })
}
