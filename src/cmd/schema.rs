//! `matchday schema`: prints the machine-readable description of the client protocol (JSON Schema
//! 2020-12 with the message catalogue: `protocol::schema`), as `docs/schema/protocol.json` holds it.
//! After changing a message: `cargo run -- schema > docs/schema/protocol.json` (a test fails until
//! the file matches), then `npm run gen --prefix clients/ts` for the TypeScript client's types.

pub fn run() -> anyhow::Result<()> {
    print!("{}", protocol::schema::document_text());
    Ok(())
}
