# Personal data: every PII field says how it is masked, and fields that look like
# personal data are marked as such.
package charter.rules.pii

import rego.v1

# The allowed masking methods (central `pii.masking_methods`), as a set for
# constant-time membership per field: computed once per contract.
masking_methods := {m | some m in object.get(data.charter.settings, ["pii", "masking_methods"], ["hash", "redact", "nullify", "last4"])}

# METADATA
# title: PII field without a masking method
# description: >-
#   Every field marked as personal data must name how it is masked for readers
#   without clearance; the access service denies a PII column that has none.
# custom:
#   severity: error
#   remediation: >-
#     Add `masking: hash` (or redact, nullify, last4) to the field's constraints (ODCS `customProperties` `masking`).
deny_masking_required contains {"msg": msg, "path": sprintf("fields[%d].masking", [i])} if {
	some i, f in input.fields
	f.pii == true
	f.masking == null
	msg := sprintf("PII field `%s` has no masking method (one of: %s)", [f.name, concat(", ", sort(masking_methods))])
}

# METADATA
# title: Unknown masking method
# description: A field's masking method must be one the query engines know, from the central list (`pii.masking_methods`).
# custom:
#   severity: error
#   remediation: Use one of the masking methods of the central settings, e.g. hash, redact, nullify or last4.
deny_masking_method_unknown contains {"msg": msg, "path": sprintf("fields[%d].masking", [i])} if {
	some i, f in input.fields
	m := f.masking
	m != null
	not masking_methods[m]
	msg := sprintf("field `%s` has unknown masking method `%v` (one of: %s)", [f.name, m, concat(", ", sort(masking_methods))])
}

# METADATA
# title: Field looks like personal data but is not marked PII
# description: >-
#   The field's name suggests personal data (email, phone, SSN, birth date, address,
#   IP address, first or last name, passport, IBAN...: the central `pii.name_pattern`)
#   but the field is not marked `pii`, so it would be served unmasked. Fields that
#   declare a `transform` removing the personal data (hash, aggregate...) are not reported.
# custom:
#   severity: warning
#   remediation: >-
#     Mark the field `pii: true` with a masking method, or declare the `transform` that removed the personal data.
warn_unmarked_pii contains {"msg": msg, "path": sprintf("fields[%d].pii", [i])} if {
	names := [f.name | some f in input.fields; f.pii == false; f.transform == null]
	count(names) > 0
	pattern := object.get(data.charter.settings, ["pii", "name_pattern"], `(?:^|_)(?:e_?mail(?:_?addr(?:ess)?)?|phone(?:_?number)?|mobile(?:_?number)?|msisdn|ssn|social_security|dob|birth(?:_?(?:date|day|year|place))?|date_of_birth|address(?:_?line_?[0-9]*)?|ip(?:v[46]|_?addr(?:ess)?)?|first_?name|last_?name|full_?name|middle_?name|maiden_?name|given_?name|family_?name|sur_?name|passport|iban|credit_?card|card_?number|national_?id(?:_?(?:number|no))?|drivers?_?licen[cs]e)(?:$|[_0-9])`)

	# All the candidate names, lowercased (matching is case-insensitive), one per
	# line: in multi-line mode `^` and `$` match at each name's start and end.
	text := lower(concat("\n", names))

	# ONE cheap regex call for the common case, no suspect at all...
	regex.match(concat("", ["(?m)", pattern]), text)

	# ...and only then one more that returns the suspects' whole (lowercased) names.
	suspects := {m | some m in regex.find_n(concat("", ["(?m)^.*(?:", pattern, ").*$"]), text, -1)}
	some i, f in input.fields
	f.pii == false
	f.transform == null
	suspects[lower(f.name)]
	msg := sprintf("field `%s` looks like personal data but is not marked PII", [f.name])
}
