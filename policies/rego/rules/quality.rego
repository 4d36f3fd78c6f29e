# Data quality: every product is checked, and its checks make sense.
package charter.rules.quality

import rego.v1

# METADATA
# title: No quality checks
# description: A product must declare at least one quality check, so that consumers learn when its data breaks.
# custom:
#   severity: error
#   remediation: Add checks under `spec.quality.checks` (e.g. a not-null check on the primary key), or ODCS `quality` rules.
deny_missing_checks contains {"msg": "the product declares no quality checks", "path": "quality"} if {
	count(object.get(input, "quality", [])) == 0
}

# METADATA
# title: Threshold outside [0, 1]
# description: A check's threshold is the share of rows that must pass, a number between 0 and 1.
# custom:
#   severity: error
#   remediation: Write the threshold as a fraction, e.g. `0.99` for 99 %.
deny_threshold_out_of_range contains {"msg": msg, "path": sprintf("quality[%d].threshold", [i])} if {
	some i, q in input.quality
	t := q.threshold
	is_number(t)
	abs(t - 0.5) > 0.5 # t < 0 or t > 1, in one expression
	msg := sprintf("quality check %d (`%s`) has threshold %v, outside [0, 1]", [i + 1, q.assertion, t])
}

# METADATA
# title: Check on an unknown field
# description: A quality check names a field the schema does not have, so it can never run.
# custom:
#   severity: error
#   remediation: Correct the check's column name, or add the field to the schema.
deny_unknown_field contains {"msg": msg, "path": sprintf("quality[%d].field", [i])} if {
	count(input.quality) > 0
	names := {f.name | some f in input.fields} # once, not once per check
	some i, q in input.quality
	name := q.field
	is_string(name)
	not names[name]
	msg := sprintf("quality check %d (`%s`) names field `%s`, which is not in the schema", [i + 1, q.assertion, name])
}

# METADATA
# title: Primary-key field without a not-null check
# description: >-
#   Every primary-key field must have a quality check of kind `not_null`
#   (e.g. `expect_column_values_to_not_be_null`, ODCS `nullValues` / `nullCheck`).
# custom:
#   severity: error
#   remediation: >-
#     Add a not-null check on the field (e.g. `column: <field>`, `assertion: expect_column_values_to_not_be_null`).
deny_primary_key_not_null contains {"msg": msg, "path": sprintf("fields[%d].primary_key", [i])} if {
	checked := {q.field | some q in input.quality; q.kind == "not_null"} # once, not once per field
	some i, f in input.fields
	f.primary_key == true
	name := f.name # bound first: a negation over a possibly undefined ref differs between engines
	not checked[name]
	msg := sprintf("primary-key field `%s` has no not-null quality check", [name])
}
