//! One status vocabulary for both vendors (SPEC §7 v2). Each vendor names the state of a
//! connection its own way — Kombo's `setup_status`, Bindbee's connector `status` — and the
//! proxy stores and shows only these three words, set when the connection is exchanged and
//! kept current by whatever hears from the vendor later (the webhooks of §10).

/// Where a connection stands, as the proxy tells its users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The vendor's setup is not finished (Kombo `INCOMPLETE`/`FINAL_SYNC_PENDING`,
    /// Bindbee `INCOMPLETE`): data may be missing or partial.
    Connecting,
    /// Kombo `COMPLETED`, Bindbee `COMPLETE`: the vendor syncs the customer's data.
    Active,
    /// The customer must reconnect (Bindbee `RELINK_NEEDED`, or Kombo saying so).
    NeedsRelink,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Connecting => "connecting",
            Status::Active => "active",
            Status::NeedsRelink => "needs_relink",
        }
    }

    /// The stored word back; `None` for anything else.
    pub fn parse(stored: &str) -> Option<Status> {
        [Status::Connecting, Status::Active, Status::NeedsRelink]
            .into_iter()
            .find(|s| s.as_str() == stored)
    }

    /// Kombo's `setup_status` (`INCOMPLETE`, `FINAL_SYNC_PENDING`, `COMPLETED`). A value
    /// Kombo adds later is not taken for "active": the connection is shown as still
    /// connecting until a known state says otherwise.
    pub fn from_kombo(setup_status: &str) -> Status {
        match setup_status {
            "COMPLETED" => Status::Active,
            _ => Status::Connecting,
        }
    }

    /// Bindbee's connector `status` (`COMPLETE`, `INCOMPLETE`, `RELINK_NEEDED`); an unknown
    /// value counts as connecting, for the same reason.
    pub fn from_bindbee(status: &str) -> Status {
        match status {
            "COMPLETE" => Status::Active,
            "RELINK_NEEDED" => Status::NeedsRelink,
            _ => Status::Connecting,
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_vendors_map_onto_one_vocabulary() {
        assert_eq!(Status::from_kombo("COMPLETED"), Status::Active);
        assert_eq!(Status::from_kombo("INCOMPLETE"), Status::Connecting);
        assert_eq!(Status::from_kombo("FINAL_SYNC_PENDING"), Status::Connecting);
        assert_eq!(Status::from_bindbee("COMPLETE"), Status::Active);
        assert_eq!(Status::from_bindbee("INCOMPLETE"), Status::Connecting);
        assert_eq!(Status::from_bindbee("RELINK_NEEDED"), Status::NeedsRelink);
    }

    #[test]
    fn an_unknown_vendor_state_is_never_taken_for_active() {
        assert_eq!(Status::from_kombo("SOMETHING_NEW"), Status::Connecting);
        assert_eq!(Status::from_bindbee("completed"), Status::Connecting);
    }

    #[test]
    fn stored_words_round_trip() {
        for s in [Status::Connecting, Status::Active, Status::NeedsRelink] {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("completed"), None);
    }
}
