//! The sample data's fixed lists: names, departments and their titles, offices.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gender {
    Female,
    Male,
    NonBinary,
}

/// First names (with the gender the sample assigns) and last names. Their counts are
/// coprime (41 and 37), so the first 1517 people of a tenant all have different names
/// and so different work emails. A few are non-ASCII, as real HR data is; none folds to
/// another's ASCII spelling.
pub const FIRST_NAMES: [(&str, Gender); 41] = [
    ("Ada", Gender::Female),
    ("Ben", Gender::Male),
    ("Chloé", Gender::Female),
    ("David", Gender::Male),
    ("Elena", Gender::Female),
    ("Felix", Gender::Male),
    ("Grace", Gender::Female),
    ("Hannah", Gender::Female),
    ("Ines", Gender::Female),
    ("Jonas", Gender::Male),
    ("Kai", Gender::NonBinary),
    ("Lena", Gender::Female),
    ("Marco", Gender::Male),
    ("Nadia", Gender::Female),
    ("Oliver", Gender::Male),
    ("Priya", Gender::Female),
    ("Quentin", Gender::Male),
    ("Rosa", Gender::Female),
    ("Samuel", Gender::Male),
    ("Tara", Gender::Female),
    ("Umar", Gender::Male),
    ("Vera", Gender::Female),
    ("William", Gender::Male),
    ("Xenia", Gender::Female),
    ("Yusuf", Gender::Male),
    ("Zoë", Gender::Female),
    ("Åsa", Gender::Female),
    ("Björn", Gender::Male),
    ("José", Gender::Male),
    ("Łukasz", Gender::Male),
    ("Søren", Gender::Male),
    ("Mei", Gender::Female),
    ("Noah", Gender::Male),
    ("Amara", Gender::Female),
    ("Liam", Gender::Male),
    ("Sofia", Gender::Female),
    ("Emil", Gender::Male),
    ("Leila", Gender::Female),
    ("Mateo", Gender::Male),
    ("Charlie", Gender::NonBinary),
    ("Ingrid", Gender::Female),
];

pub const LAST_NAMES: [&str; 37] = [
    "Becker",
    "Schmidt",
    "Müller",
    "Ångström",
    "Núñez",
    "Nguyễn",
    "O'Brien",
    "Kowalczyk",
    "Rossi",
    "García",
    "Dubois",
    "Jensen",
    "Okafor",
    "Tanaka",
    "Patel",
    "Smith",
    "Johnson",
    "Fischer",
    "Weber",
    "Novak",
    "Silva",
    "Kim",
    "Haddad",
    "Larsen",
    "Moreau",
    "Costa",
    "Wagner",
    "Öztürk",
    "Hoffmann",
    "Svensson",
    "Brown",
    "Martin",
    "Lopez",
    "Ivanova",
    "Chen",
    "Mensah",
    "Walsh",
];

/// A department (a group in both vendors' models) and the titles its people hold.
pub struct Department {
    pub name: &'static str,
    pub titles: &'static [&'static str],
}

pub const DEPARTMENTS: [Department; 7] = [
    Department {
        name: "Engineering",
        titles: &[
            "Software Engineer",
            "Senior Software Engineer",
            "Staff Engineer",
            "Site Reliability Engineer",
            "QA Engineer",
        ],
    },
    Department {
        name: "Sales",
        titles: &[
            "Account Executive",
            "Sales Development Representative",
            "Sales Engineer",
        ],
    },
    Department {
        name: "Marketing",
        titles: &[
            "Content Marketing Manager",
            "Growth Marketer",
            "Brand Designer",
        ],
    },
    Department {
        name: "People",
        titles: &["People Partner", "Recruiter", "Talent Acquisition Lead"],
    },
    Department {
        name: "Finance",
        titles: &["Accountant", "Financial Analyst", "Payroll Specialist"],
    },
    Department {
        name: "Customer Success",
        titles: &[
            "Customer Success Manager",
            "Support Engineer",
            "Onboarding Specialist",
        ],
    },
    Department {
        name: "Product",
        titles: &["Product Manager", "Product Designer", "UX Researcher"],
    },
];

/// An office: where people work and jobs are located.
pub struct Office {
    pub name: &'static str,
    pub street: &'static str,
    pub zip: &'static str,
    pub city: &'static str,
    pub state: Option<&'static str>,
    /// ISO 3166-1 alpha-2.
    pub country: &'static str,
    /// E.164 prefix.
    pub dial: &'static str,
    pub currency: &'static str,
}

pub const OFFICES: [Office; 4] = [
    Office {
        name: "Berlin HQ",
        street: "Torstraße 49",
        zip: "10119",
        city: "Berlin",
        state: None,
        country: "DE",
        dial: "+49",
        currency: "EUR",
    },
    Office {
        name: "München",
        street: "Sendlinger Straße 7",
        zip: "80331",
        city: "München",
        state: Some("BY"),
        country: "DE",
        dial: "+49",
        currency: "EUR",
    },
    Office {
        name: "London",
        street: "1 Finsbury Avenue",
        zip: "EC2M 2PF",
        city: "London",
        state: None,
        country: "GB",
        dial: "+44",
        currency: "GBP",
    },
    Office {
        name: "New York",
        street: "55 Water Street",
        zip: "10041",
        city: "New York",
        state: Some("NY"),
        country: "US",
        dial: "+1",
        currency: "USD",
    },
];

/// The titles of the heads of `DEPARTMENTS`, in the same order.
pub const HEAD_TITLES: [&str; 7] = [
    "VP Engineering",
    "VP Sales",
    "Head of Marketing",
    "Head of People",
    "Chief Financial Officer",
    "Head of Customer Success",
    "Head of Product",
];
