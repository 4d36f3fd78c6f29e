# A helper library outside Charter's namespaces: needs `--allow-package acme.lib`.
package acme.lib

import rego.v1

kebab(s) := replace(lower(s), "_", "-")
