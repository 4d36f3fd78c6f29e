//! The principal directory: what Charter knows of callers beyond what a query engine
//! sends (Trino sends only `{user, groups}`, AuthZEN callers often only a subject id).
//!
//! ```yaml
//! users:
//!   alice: {roles: [analyst], attributes: {region: eu}, groups: [team-orders@acme.example]}
//! groups:
//!   hr-restricted: {roles: [restricted-reader]}
//! ```
//!
//! A caller resolved through it ([`Directory::resolve`]): the id stays; groups = the
//! request's groups ∪ the user's groups; roles = the request's roles ∪ the user's roles ∪
//! the roles of every group it is in; attributes = the user's, overridden by the
//! request's. A user the directory does not list is still a principal (its request
//! groups still count).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::request::Principal;
use crate::fsread::{self, Confinement};

/// The largest principal directory read (64 MiB: about a million users).
pub const MAX_BYTES: u64 = 64 << 20;

/// A directory file that cannot be used (`serve` refuses to start; a reload keeps the last good one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// The file cannot be read.
    #[error("cannot read the principal directory `{file}`: {message}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        message: String,
    },
    /// The file is not a directory: bad YAML, wrong types, unknown keys, empty names.
    #[error("{file}:{line}: not a principal directory: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// One user of the directory.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DirectoryUser {
    /// Roles granted to the user.
    pub roles: Vec<String>,
    /// Groups the user belongs to.
    pub groups: Vec<String>,
    /// String attributes (`region` → `eu`…).
    pub attributes: BTreeMap<String, String>,
}

/// One group of the directory.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DirectoryGroup {
    /// Roles every member of the group has.
    pub roles: Vec<String>,
}

/// Users and groups, by name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct DirectoryDoc {
    users: BTreeMap<String, DirectoryUser>,
    groups: BTreeMap<String, DirectoryGroup>,
}

/// The principal directory, with the content hash of its file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Directory {
    users: BTreeMap<String, DirectoryUser>,
    groups: BTreeMap<String, DirectoryGroup>,
    revision: String,
}

impl Directory {
    /// Reads and parses `path`.
    ///
    /// # Errors
    /// The file cannot be read or is not a directory (with its line).
    pub fn load(path: &Path) -> Result<Self, DirectoryError> {
        let bytes = Self::read(path)?;
        let file = path.display().to_string();
        let text = String::from_utf8(bytes).map_err(|e| DirectoryError::Read {
            file: file.clone(),
            message: format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        })?;
        Self::parse(&file, &text)
    }

    /// The bytes of the directory file at `path`, as [`crate::fsread`] reads a file: only
    /// a regular file (a FIFO or a device is refused unopened), at most `MAX_BYTES` (64 MiB)
    /// whatever its metadata says. The path is the operator's, so a symlink is followed
    /// wherever it leads.
    ///
    /// # Errors
    /// [`DirectoryError::Read`], saying why.
    pub fn read(path: &Path) -> Result<Vec<u8>, DirectoryError> {
        let error = |message: String| DirectoryError::Read {
            file: path.display().to_string(),
            message,
        };
        let confinement = Confinement::for_tree(path, true).map_err(|e| error(e.to_string()))?;
        fsread::read_file(path, MAX_BYTES, &confinement).map_err(|e| error(e.to_string()))
    }

    /// Parses a directory from YAML (`file` names it in errors).
    ///
    /// ```
    /// use charter_engine::access::{Directory, Principal};
    /// let dir = Directory::parse("principals.yaml", "users:\n  alice: {roles: [analyst], groups: [hr]}\ngroups:\n  hr: {roles: [restricted-reader]}\n").unwrap();
    /// let alice = dir.resolve(&Principal { id: "alice".into(), ..Principal::default() });
    /// assert_eq!(alice.roles, ["analyst", "restricted-reader"]);
    /// ```
    ///
    /// # Errors
    /// Not YAML, wrong types, unknown keys, or an empty user, group, role or attribute name.
    pub fn parse(file: &str, text: &str) -> Result<Self, DirectoryError> {
        let invalid = |line: usize, message: String| DirectoryError::Invalid {
            file: file.to_owned(),
            line,
            message,
        };
        let doc: DirectoryDoc = if text.trim().is_empty() {
            DirectoryDoc::default()
        } else {
            yaml_serde::from_str(text)
                .map_err(|e| invalid(e.location().map_or(1, |l| l.line()), e.to_string()))?
        };
        let line_of = |name: &str| line_of_key(text, name);
        for (name, user) in &doc.users {
            if name.trim().is_empty() {
                return Err(invalid(line_of(name), "a user has an empty name".into()));
            }
            let empty = user.roles.iter().chain(&user.groups).any(|s| s.is_empty())
                || user.attributes.keys().any(String::is_empty);
            if empty {
                return Err(invalid(
                    line_of(name),
                    format!("user `{name}` has an empty role, group or attribute name"),
                ));
            }
        }
        for (name, group) in &doc.groups {
            if name.trim().is_empty() || group.roles.iter().any(String::is_empty) {
                return Err(invalid(
                    line_of(name),
                    format!("group `{name}` has an empty name or role"),
                ));
            }
        }
        Ok(Self {
            users: doc.users,
            groups: doc.groups,
            revision: blake3::hash(text.as_bytes()).to_hex()[..16].to_owned(),
        })
    }

    /// The content hash of the file (empty for the empty directory).
    #[must_use]
    pub fn revision(&self) -> &str {
        &self.revision
    }

    /// How many users it lists.
    #[must_use]
    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// The user named `id`, if listed.
    #[must_use]
    pub fn user(&self, id: &str) -> Option<&DirectoryUser> {
        self.users.get(id)
    }

    /// Every user it lists.
    pub fn users(&self) -> impl Iterator<Item = (&str, &DirectoryUser)> {
        self.users.iter().map(|(n, u)| (n.as_str(), u))
    }

    /// Every group it lists, with the roles its members get.
    pub fn groups(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.groups
            .iter()
            .map(|(n, g)| (n.as_str(), g.roles.as_slice()))
    }

    /// The caller as the request knows it, completed with what the directory says.
    #[must_use]
    pub fn resolve(&self, request: &Principal) -> Principal {
        let user = self.users.get(&request.id);
        let mut groups = request.groups.clone();
        if let Some(user) = user {
            push_new(&mut groups, &user.groups);
        }
        let mut roles = request.roles.clone();
        if let Some(user) = user {
            push_new(&mut roles, &user.roles);
        }
        for group in &groups {
            if let Some(g) = self.groups.get(group) {
                push_new(&mut roles, &g.roles);
            }
        }
        let mut attributes = user.map(|u| u.attributes.clone()).unwrap_or_default();
        attributes.extend(
            request
                .attributes
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        Principal {
            id: request.id.clone(),
            roles,
            groups,
            attributes,
        }
    }
}

fn push_new(into: &mut Vec<String>, items: &[String]) {
    for item in items {
        if !into.contains(item) {
            into.push(item.clone());
        }
    }
}

/// The first line where `key` appears as a mapping key (1 when not found).
fn line_of_key(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            let t = l.trim_start().trim_start_matches(['"', '\'']);
            t.starts_with(key)
                && t[key.len()..]
                    .trim_start_matches(['"', '\''])
                    .starts_with(':')
        })
        .map_or(1, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIR: &str = "users:\n  alice: {roles: [analyst], attributes: {region: eu}, groups: [team-orders@acme.example]}\ngroups:\n  hr-restricted: {roles: [restricted-reader]}\n  team-orders@acme.example: {roles: [orders-reader]}\n";

    fn principal(id: &str) -> Principal {
        Principal {
            id: id.into(),
            ..Principal::default()
        }
    }

    #[test]
    fn a_listed_user_gets_its_roles_groups_group_roles_and_attributes() {
        let dir = Directory::parse("p.yaml", DIR).unwrap_or_default();
        let mut asked = principal("alice");
        asked.groups = vec!["hr-restricted".into()];
        asked.roles = vec!["pii-reader".into()];
        asked.attributes.insert("region".into(), "us".into());
        asked.attributes.insert("department".into(), "hr".into());
        let p = dir.resolve(&asked);
        assert_eq!(p.groups, ["hr-restricted", "team-orders@acme.example"]);
        assert_eq!(
            p.roles,
            [
                "pii-reader",
                "analyst",
                "restricted-reader",
                "orders-reader"
            ]
        );
        assert_eq!(p.attributes.get("region").map(String::as_str), Some("us"));
        assert_eq!(
            p.attributes.get("department").map(String::as_str),
            Some("hr")
        );
    }

    #[test]
    fn an_unknown_user_keeps_its_request_groups_and_their_roles() {
        let dir = Directory::parse("p.yaml", DIR).unwrap_or_default();
        let mut asked = principal("mallory");
        asked.groups = vec!["hr-restricted".into()];
        let p = dir.resolve(&asked);
        assert_eq!(p.groups, ["hr-restricted"]);
        assert_eq!(p.roles, ["restricted-reader"]);
        assert!(p.attributes.is_empty());
    }

    #[test]
    fn a_bad_file_is_an_error_with_its_line() {
        let err = Directory::parse("p.yaml", "users:\n  alice: {roles: analyst}\n");
        let Err(DirectoryError::Invalid { line, file, .. }) = err else {
            panic!("expected an error, got {err:?}");
        };
        assert_eq!((file.as_str(), line), ("p.yaml", 2));
        let err = Directory::parse("p.yaml", "users: {}\nteams: {}\n");
        assert!(
            matches!(err, Err(DirectoryError::Invalid { line: 2, .. })),
            "{err:?}"
        );
        let err = Directory::parse("p.yaml", "users:\n  bob: {}\n  alice: {roles: ['']}\n");
        assert!(
            matches!(err, Err(DirectoryError::Invalid { line: 3, .. })),
            "{err:?}"
        );
    }

    /// A FIFO or a device named as the directory is refused without being opened (a FIFO
    /// would block the start, `/dev/zero` would be read for ever); a regular file loads.
    #[cfg(unix)]
    #[test]
    fn only_a_regular_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("principals.yaml");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let err = Directory::load(&fifo).unwrap_err().to_string();
        assert!(
            err.contains("not a regular file") && err.contains("FIFO"),
            "{err}"
        );
        let zero = dir.path().join("zero.yaml");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let err = Directory::load(&zero).unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "{err}");
        let good = dir.path().join("good.yaml");
        std::fs::write(&good, DIR).unwrap();
        assert!(Directory::load(&good).is_ok());
    }
}
