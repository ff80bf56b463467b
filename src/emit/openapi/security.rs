//! OAuth scopes as security schemes and requirements.

use std::collections::BTreeMap;

use super::spec::{OAuthFlow, SecurityScheme};
use super::Builder;
use crate::model::Service;

impl Builder<'_> {
    /// The security requirement of a service's operations, adding its scheme.
    pub(super) fn security(
        &self,
        service: &Service,
        schemes: &mut BTreeMap<String, SecurityScheme>,
    ) -> Option<Vec<BTreeMap<String, Vec<String>>>> {
        if service.oauth_scopes.is_empty() {
            return Some(Vec::new());
        }
        let google = service
            .oauth_scopes
            .iter()
            .all(|s| s.starts_with("https://www.googleapis.com/auth/"));
        let (authorization, token) = match (
            &self.params.openapi_oauth_authorization_url,
            &self.params.openapi_oauth_token_url,
        ) {
            (a, Some(t)) => (a.clone(), Some(t.clone())),
            (_, None) if google => (
                Some("https://accounts.google.com/o/oauth2/v2/auth".to_owned()),
                Some("https://oauth2.googleapis.com/token".to_owned()),
            ),
            _ => (None, None),
        };
        let scopes: BTreeMap<String, String> = service
            .oauth_scopes
            .iter()
            .map(|s| (s.clone(), format!("Used by {}.", service.full_name)))
            .collect();
        let name = match token {
            Some(token) => {
                let flow = OAuthFlow {
                    authorization_url: authorization.clone(),
                    token_url: token,
                    scopes,
                };
                let entry = schemes
                    .entry("oauth2".to_owned())
                    .or_insert_with(|| SecurityScheme {
                        kind: "oauth2",
                        description: None,
                        scheme: None,
                        flows: Some(BTreeMap::new()),
                    });
                let flows = entry.flows.get_or_insert_with(BTreeMap::new);
                let key = if authorization.is_some() {
                    "authorizationCode"
                } else {
                    "clientCredentials"
                };
                let merged = flows.entry(key).or_insert(OAuthFlow {
                    scopes: BTreeMap::new(),
                    ..flow.clone()
                });
                merged.scopes.extend(flow.scopes);
                "oauth2"
            }
            None => {
                schemes
                    .entry("bearer".to_owned())
                    .or_insert_with(|| SecurityScheme {
                        kind: "http",
                        description: Some(
                            "An OAuth 2.0 access token holding the scopes each operation lists. \
                             Set `openapi_oauth_token_url` (and `openapi_oauth_authorization_url`) \
                             to describe the OAuth flow itself."
                                .to_owned(),
                        ),
                        scheme: Some("bearer"),
                        flows: None,
                    });
                "bearer"
            }
        };
        Some(vec![BTreeMap::from([(
            name.to_owned(),
            service.oauth_scopes.clone(),
        )])])
    }
}
