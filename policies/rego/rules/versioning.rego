# Versioning: consumers can tell compatible changes from breaking ones, and where a
# product is in its lifecycle.
package charter.rules.versioning

import rego.v1

# METADATA
# title: Version is not semver
# description: The contract version must be a semantic version (`MAJOR.MINOR.PATCH`, e.g. `1.4.0`), so that breaking changes show in the major number.
# custom:
#   severity: error
#   remediation: Write the version as `MAJOR.MINOR.PATCH`, without a `v` prefix (e.g. `2.0.0`).
deny_invalid_semver contains {"msg": msg, "path": "version"} if {
	version := object.get(input, "version", "")
	not valid_semver(version)
	msg := sprintf("version `%v` is not a semantic version (MAJOR.MINOR.PATCH)", [version])
}

# Strict SemVer 2.0.0, semver.org's own pattern. Not `semver.is_valid`: OPA's accepts
# `v1.2.3` and `01.2.3`, regorus' does not, and a pack must mean the same in both.
valid_semver(version) if {
	is_string(version)
	regex.match(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-(0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)(\.(0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*)?(\+[0-9a-zA-Z-]+(\.[0-9a-zA-Z-]+)*)?$`, version)
}

# METADATA
# title: Unknown status
# description: The status must be one of the lifecycle statuses of the central settings (`versioning.statuses`).
# custom:
#   severity: error
#   remediation: Use draft, active, deprecated or retired.
deny_unknown_status contains {"msg": msg, "path": "status"} if {
	status := input.status
	status != null
	known := {s | some s in object.get(data.charter.settings, ["versioning", "statuses"], ["draft", "active", "deprecated", "retired"])}
	not known[status]
	msg := sprintf("status `%v` is not one of: %s", [status, concat(", ", sort(known))])
}

# METADATA
# title: No status
# description: The contract should say where the product is in its lifecycle; consumers cannot tell a draft from a product they may rely on.
# custom:
#   severity: warning
#   remediation: Add `spec.status` (draft, active, deprecated or retired).
warn_missing_status contains {"msg": "the contract declares no status", "path": "status"} if {
	object.get(input, "status", null) == null
}
