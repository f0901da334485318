//! Who is asking and what they may see and do. A grant is a role over a
//! jurisdiction and everything within it (a county's code covers its townships).
//! The admin token may do everything everywhere: it is for automation and for
//! creating the first admin.
//!
//! A record outside everything an actor may see is answered as absent
//! (`not_found`), so a reviewer of one county cannot learn what another holds;
//! one they may see but not act on is `forbidden`.

use crate::error::{Error, Result};
use fieldproof_core::model::division::covers;

pub use fieldproof_core::wire::admin::{Grant, StaffRole};

/// A role named in a request.
pub fn parse_role(code: &str) -> Result<StaffRole> {
    StaffRole::from_code(code).ok_or_else(|| Error::InvalidRequest {
        reason: "role must be reviewer, legal_reviewer, dispatcher or admin".into(),
    })
}

/// Where an actor may look, for a list: everywhere, or within any of these codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Everywhere,
    Within(Vec<String>),
}

impl Scope {
    pub fn covers(&self, code: &str) -> bool {
        match self {
            Scope::Everywhere => true,
            Scope::Within(codes) => codes.iter().any(|c| covers(c, code)),
        }
    }

    /// The jurisdiction codes a list is limited to; `None` for everywhere.
    pub fn codes(&self) -> Option<&[String]> {
        match self {
            Scope::Everywhere => None,
            Scope::Within(codes) => Some(codes),
        }
    }
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The bureau's admin token: automation and the first admin.
    AdminToken,
    /// A signed-in person and what they were granted.
    User { id: String, grants: Vec<Grant> },
}

impl Actor {
    /// How the audit log names this actor (ids only, never a name).
    pub fn audit_name(&self) -> String {
        match self {
            Actor::AdminToken => "admin_token".into(),
            Actor::User { id, .. } => format!("user:{id}"),
        }
    }

    /// Where this actor may look: every jurisdiction any of their grants covers.
    pub fn scope(&self) -> Scope {
        self.scope_of(None)
    }

    /// Where this actor holds `role`.
    pub fn scope_for(&self, role: StaffRole) -> Scope {
        self.scope_of(Some(role))
    }

    fn scope_of(&self, role: Option<StaffRole>) -> Scope {
        match self {
            Actor::AdminToken => Scope::Everywhere,
            Actor::User { grants, .. } => Scope::Within(
                grants
                    .iter()
                    .filter(|g| role.is_none_or(|r| g.role == r))
                    .map(|g| g.jurisdiction.clone())
                    .collect(),
            ),
        }
    }

    /// May this actor see a record of `jurisdiction` at all?
    pub fn may_see(&self, jurisdiction: &str) -> bool {
        self.scope().covers(jurisdiction)
    }

    /// Checks that this actor holds `role` over `jurisdiction`: `not_found` for
    /// a record they may not even see (`what` names it), `forbidden` for one
    /// they see but may not act on this way.
    pub fn require(&self, role: StaffRole, jurisdiction: &str, what: &'static str) -> Result<()> {
        if !self.may_see(jurisdiction) {
            return Err(Error::NotFound { what });
        }
        if !self.scope_for(role).covers(jurisdiction) {
            return Err(Error::Forbidden);
        }
        Ok(())
    }

    /// Checks that this actor holds `role` somewhere (for a route that is not
    /// about one record, e.g. a list of users).
    pub fn require_role(&self, role: StaffRole) -> Result<()> {
        match self.scope_for(role) {
            Scope::Within(codes) if codes.is_empty() => Err(Error::Forbidden),
            _ => Ok(()),
        }
    }

    /// Checks that this actor holds `role` everywhere: bureau-wide changes
    /// (boundaries, fire imports, the audit chain check). Grants name
    /// jurisdictions, so today only the admin token passes.
    pub fn require_everywhere(&self, role: StaffRole) -> Result<()> {
        match self.scope_for(role) {
            Scope::Everywhere => Ok(()),
            Scope::Within(_) => Err(Error::Forbidden),
        }
    }

    /// The jurisdiction figures are counted for: the one `asked` if it lies
    /// within this actor's grants (`not_found` otherwise), else the actor's
    /// only grant's, else everywhere for the admin token; someone with several
    /// grants must say which (`invalid_request`).
    pub fn figures_for(&self, asked: Option<String>) -> Result<Option<String>> {
        match (asked, self.scope()) {
            (Some(code), scope) if scope.covers(&code) => Ok(Some(code)),
            (Some(_), _) => Err(Error::NotFound {
                what: "jurisdiction",
            }),
            (None, Scope::Everywhere) => Ok(None),
            (None, Scope::Within(codes)) if codes.len() == 1 => Ok(codes.into_iter().next()),
            (None, Scope::Within(_)) => Err(Error::InvalidRequest {
                reason: "name the jurisdiction: ?jurisdiction=".into(),
            }),
        }
    }

    /// The responsible party's name and numbers are for those who decide on the
    /// case: not for dispatchers.
    pub fn may_see_personal_data(&self, jurisdiction: &str) -> bool {
        [
            StaffRole::Reviewer,
            StaffRole::LegalReviewer,
            StaffRole::Admin,
        ]
        .into_iter()
        .any(|role| self.scope_for(role).covers(jurisdiction))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(grants: &[(StaffRole, &str)]) -> Actor {
        Actor::User {
            id: "u1".into(),
            grants: grants
                .iter()
                .map(|(role, code)| Grant {
                    role: *role,
                    jurisdiction: (*code).into(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_county_reviewer_acts_in_the_county_and_sees_nothing_else() {
        let reviewer = user(&[(StaffRole::Reviewer, "430121")]);
        assert!(reviewer
            .require(StaffRole::Reviewer, "430121101", "inspection")
            .is_ok());
        let elsewhere = reviewer.require(StaffRole::Reviewer, "430181001", "inspection");
        assert!(matches!(elsewhere, Err(Error::NotFound { .. })));
        let dispatching = reviewer.require(StaffRole::Dispatcher, "430121101", "task");
        assert!(matches!(dispatching, Err(Error::Forbidden)));
        assert!(reviewer.may_see_personal_data("430121101"));
        assert!(!reviewer.may_see_personal_data("430181"));
        assert_eq!(reviewer.scope(), Scope::Within(vec!["430121".into()]));
    }

    #[test]
    fn roles_are_held_per_jurisdiction() {
        let actor = user(&[
            (StaffRole::Dispatcher, "4301"),
            (StaffRole::Reviewer, "430121"),
        ]);
        assert!(actor
            .require(StaffRole::Dispatcher, "430181001", "task")
            .is_ok());
        assert!(matches!(
            actor.require(StaffRole::Reviewer, "430181001", "inspection"),
            Err(Error::Forbidden)
        ));
        assert!(
            !actor.may_see_personal_data("430181001"),
            "a dispatcher there"
        );
        assert!(actor.require_role(StaffRole::Reviewer).is_ok());
        assert!(matches!(
            actor.require_role(StaffRole::Admin),
            Err(Error::Forbidden)
        ));
    }

    #[test]
    fn the_admin_token_may_do_everything() {
        let token = Actor::AdminToken;
        for role in StaffRole::ALL {
            assert!(token.require(role, "650102", "anything").is_ok());
        }
        assert_eq!(token.scope(), Scope::Everywhere);
        assert_eq!(token.audit_name(), "admin_token");
    }

    #[test]
    fn roles_parse_from_their_names_only() {
        for role in StaffRole::ALL {
            assert_eq!(parse_role(role.code()).unwrap(), role);
        }
        assert!(parse_role("Reviewer").is_err());
    }
}
