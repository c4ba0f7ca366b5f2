// The read-only SQL views that outside readers (the Python package python/headevo, a user's own
// SQL) query instead of the tables: docs/schema.md documents every column. A view's name
// carries its version (v1_candidates): a later migration that changes a table redefines the
// v1_ views over it with the same columns and meaning, and a change of columns gets new v2_
// views beside them, so SQL written against v1_ keeps working across schema upgrades.
#ifndef HEADEVO_STORAGE_SCHEMA_VIEWS_H_
#define HEADEVO_STORAGE_SCHEMA_VIEWS_H_

namespace headevo::storage {

// The statements that create every v1_ view (schema migration 8).
extern const char kCreateViewsV1Sql[];

}  // namespace headevo::storage

#endif  // HEADEVO_STORAGE_SCHEMA_VIEWS_H_
