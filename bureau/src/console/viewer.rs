//! Who is looking at a console page: the signed-in staff member of the
//! session cookie (the same sessions as the API, [`crate::people::sessions`]).
//! Without a live session a page answers with the login page's address; a
//! form that changes something must carry the session's CSRF token in its
//! `csrf` field.

use super::ConsoleError;
use crate::api::{SignedIn, State};
use crate::error::Error;
use crate::people::sessions::Session;
use crate::people::Actor;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};

/// A signed-in staff member on a console page.
pub struct Viewer {
    pub session: Session,
    pub actor: Actor,
    /// The session's token, from its cookie (to end it at logout).
    pub token: String,
}

impl Viewer {
    /// `csrf_rejected` unless a posted form carries this session's token.
    pub fn check_form(&self, csrf: &str) -> Result<(), ConsoleError> {
        if self.session.csrf_matches(csrf) {
            Ok(())
        } else {
            Err(Error::CsrfRejected.into())
        }
    }

    pub fn csrf(&self) -> &str {
        &self.session.csrf_token
    }
}

impl FromRequestParts<State> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &State) -> Result<Self, Response> {
        match SignedIn::from_request_parts(parts, state).await {
            Ok(signed_in) => Ok(Viewer {
                actor: signed_in.session.actor(),
                session: signed_in.session,
                token: signed_in.token,
            }),
            Err(error) => match error.0 {
                // Not signed in, or no longer: to the login page, and back here after.
                Error::Unauthenticated | Error::InvalidToken | Error::SessionExpired => {
                    let back = parts
                        .uri
                        .path_and_query()
                        .map_or("/console/", |p| p.as_str());
                    let next = form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>();
                    Err(Redirect::to(&format!("/console/login?next={next}")).into_response())
                }
                other => Err(ConsoleError(other).into_response()),
            },
        }
    }
}

/// A page's query parameters, parsed into `T`; parameters that do not parse (a
/// number that is not one, a name given twice, a name the page does not know: a
/// mistyped filter must not quietly show everything) are `invalid_request` on an
/// error page, not axum's plain-text rejection.
pub struct PageQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for PageQuery<T> {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ConsoleError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(query)| PageQuery(query))
            .map_err(|_| {
                ConsoleError(Error::InvalidRequest {
                    reason: "the page's query parameters do not parse".into(),
                })
            })
    }
}

/// A form that carries nothing but its CSRF token (a button: log out, revoke).
#[derive(serde::Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

/// A posted form, parsed into `T`; a body that is not one (a field missing or
/// of the wrong kind) is `invalid_request` on an error page. Forms' `csrf`
/// fields default to empty, so a form without one is `csrf_rejected`.
pub struct PostedForm<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S>
    for PostedForm<T>
{
    type Rejection = ConsoleError;

    async fn from_request(
        request: axum::extract::Request,
        state: &S,
    ) -> Result<Self, ConsoleError> {
        axum::Form::<T>::from_request(request, state)
            .await
            .map(|axum::Form(form)| PostedForm(form))
            .map_err(|_| {
                ConsoleError(Error::InvalidRequest {
                    reason: "the form is incomplete or not a form".into(),
                })
            })
    }
}
