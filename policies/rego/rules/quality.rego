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
	some i, q in input.quality
	name := q.field
	is_string(name)
	not known_field(object.get(q, "table", null), name)
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
	# Once, not once per field: checks of a table (model 2), and checks naming no table.
	checked := {[t, q.field] | some q in input.quality; q.kind == "not_null"; t := object.get(q, "table", null); t != null}
	checked_any := {q.field | some q in input.quality; q.kind == "not_null"; object.get(q, "table", null) == null}
	some i, f in input.fields
	f.primary_key == true
	name := field_path(f) # bound first: a negation over a possibly undefined ref differs between engines
	not checked[[object.get(f, "table", ""), name]]
	not checked_any[name]
	msg := sprintf("primary-key field `%s` has no not-null quality check", [name])
}

# Each field's [table, logical path] key, and each field's path, as sets: each built once, not
# once per check, and only if a check needs it. A function call or builtin per field costs
# more than the rest of the rule: contracts read by Charter give every field a table and a
# path, and the set of those is built in one pass. It holds every field's key when it has as
# many elements as there are fields (a field without a table or a path, or two fields with
# the same key, make it smaller); otherwise the set is built again the general way.
field_keys := direct_keys if {
	count(direct_keys) == count(input.fields)
} else := {[object.get(f, "table", ""), field_path(f)] | some f in input.fields}

direct_keys := {[f.table, f.path] | some f in input.fields; f.path != ""; f.table}

# A field's logical path (model 2), or its name (model 1 inputs have no path).
field_path(f) := p if {
	p := object.get(f, "path", "")
	p != ""
} else := f.name

# The schema's field paths, the same way.
field_paths := direct_paths if {
	count(direct_paths) == count(input.fields)
} else := {field_path(f) | some f in input.fields}

direct_paths := {f.path | some f in input.fields; f.path != ""}

# A check naming no table may name a field of any table; one naming a table, a field of it.
known_field(null, name) if field_paths[name]

known_field(table, name) if {
	table != null
	field_keys[[table, name]]
}

# METADATA
# title: Quality bounds no value can meet
# description: >-
#   An ODCS check's `mustBe*` bounds contradict each other (`mustBeGreaterThan` at or
#   above `mustBeLessThan`, a `mustBeBetween` range whose minimum exceeds its maximum),
#   so the check fails whatever the data.
# custom:
#   severity: error
#   remediation: Correct the bounds; a `mustBeBetween` range lists the smaller number first.
deny_contradictory_bounds contains {"msg": msg, "path": sprintf("quality[%d]", [i])} if {
	some i, q in input.quality
	bounds := object.get(q, "bounds", {})
	count(bounds) > 1 # two bounds at least, or none can contradict the other (most checks have none)
	some [low, high] in bound_pairs(bounds)
	low > high
	msg := sprintf("quality check %d (`%s`) has bounds no value can meet: at least %v and at most %v", [i + 1, q.assertion, low, high])
}

# (lower bound, upper bound) pairs a check's bounds set; strict bounds count as equal.
bound_pairs(b) := {[low, high] |
	some lk in ["must_be_greater_than", "must_be_greater_or_equal_to"]
	some hk in ["must_be_less_than", "must_be_less_or_equal_to"]
	low := b[lk]
	high := b[hk]
} | {[b.must_be_between_min, b.must_be_between_max] | b.must_be_between_min}
