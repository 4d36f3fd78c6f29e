# Identity across the repository: one contract per product id.
package charter.mesh.identity

# Files per identity: an ODCS contract is identified by its contract `id`; a contract
# without one (the seed format) by its product id. Two contracts of one ODCS data product
# with distinct contract ids are no duplicates.
files_by_id[id] contains file if {
	some p in data.charter.products
	id := identity(p)
	file := p.source.file
}

identity(p) := sprintf("contract id `%s`", [p.contract_id]) if {
	is_string(object.get(p, "contract_id", null))
} else := sprintf("product id `%s`", [p.id])

# METADATA
# title: Duplicate product id
# description: >-
#   Two contracts declare the same product id. Consumers, access decisions and lineage
#   resolve a product by its id; with two contracts, which one applies is undefined.
# custom:
#   severity: error
#   remediation: >-
#     Rename one of the products, or delete the stale contract. Every file listed in the
#     message carries the finding.
deny_duplicate_product_id contains {"msg": msg, "file": file, "path": "id"} if {
	# Most repositories have no duplicate: prove it with two comprehensions, and build
	# the identities (a string each) only when there is one.
	has_duplicate
	some id, files in files_by_id
	count(files) > 1
	some file in files
	others := concat("`, `", sort([f | some f in files; f != file]))
	msg := sprintf("%s is also declared in `%s`", [id, others])
}

# The contract ids, and the product ids of contracts without one.
contract_ids := [c | some p in data.charter.products; c := object.get(p, "contract_id", null); is_string(c)]

product_ids := [p.id | some p in data.charter.products; not is_string(object.get(p, "contract_id", null))]

has_duplicate if count({c | some c in contract_ids}) != count(contract_ids)

has_duplicate if count({i | some i in product_ids}) != count(product_ids)
