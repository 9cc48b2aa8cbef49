// Loaded into Azurite with NODE_OPTIONS=--require by the scaling benchmark only (never by ./mailcloud or the tests).
// Why: Azurite checks every insert against the partition with a scan (one partition holds the whole mailbox), so
// seeding 100,000 message rows through its API did not finish in 35 minutes. This copies rows the benchmark already
// wrote through the API (templates) straight into Azurite's in-memory table, which costs Azurite nothing per row.
// Protocol: the benchmark writes a JSON file {table, rows: [{template, rowKey, set: {property: value}}]} and sends
// SIGUSR2; this writes <file>.done (or <file>.error with the reason) when the rows are in.
"use strict";
const fs = require("fs");
const Loki = require("lokijs");

const databases = [];
const addCollection = Loki.prototype.addCollection;
Loki.prototype.addCollection = function (...args) {
  if (!databases.includes(this)) databases.push(this);
  return addCollection.apply(this, args);
};

function seed(file) {
  const spec = JSON.parse(fs.readFileSync(file, "utf8"));
  const collection = databases
    .flatMap((db) => db.collections)
    .find((c) => c.name.endsWith("$" + spec.table));
  if (!collection) throw new Error(`no table ${spec.table} in Azurite`);
  const templates = new Map();
  for (const row of spec.rows) {
    let template = templates.get(row.template);
    if (!template) {
      template = collection.findOne({ RowKey: row.template });
      if (!template) throw new Error(`no template row ${row.template}`);
      templates.set(row.template, template);
    }
    const copy = JSON.parse(JSON.stringify({
      PartitionKey: template.PartitionKey,
      RowKey: row.rowKey,
      properties: template.properties,
      lastModifiedTime: template.lastModifiedTime,
      eTag: template.eTag,
    }));
    for (const [name, value] of Object.entries(row.set)) {
      // Azurite keeps Edm.Int64 values as strings; keep each property's stored type.
      copy.properties[name] = typeof copy.properties[name] === "string" ? String(value) : value;
    }
    collection.insert(copy);
  }
}

process.on("SIGUSR2", () => {
  const file = process.env.MAILCLOUD_BENCH_SEED_FILE;
  try {
    seed(file);
    fs.writeFileSync(file + ".done", "ok");
  } catch (e) {
    fs.writeFileSync(file + ".error", String(e && e.stack || e));
  }
});
