// Package contract checks Veza's OpenAPI document, dumped from the code by
// `veza openapi`, with the tools its clients use: kin-openapi's validator,
// Redocly CLI's lint (tools/redocly.yaml), and a TypeScript client
// (tools/client-check.ts) compiled against the types openapi-typescript
// generates from it. The npm tools live in tools/node_modules, which
// `make test` installs from tools/package-lock.json.
package contract
