// Starts `tally lsp` for .tally files. No build step: plain JavaScript over
// vscode-languageclient (`npm install` in this folder, then package with `npx @vscode/vsce package`).
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function settings() {
  const config = vscode.workspace.getConfiguration("tally");
  return {
    path: config.get("path") || "tally",
    snapshot: config.get("snapshot") || "",
    log: config.get("log") || false,
  };
}

async function activate(context) {
  const { path, snapshot, log } = settings();
  const args = log ? ["lsp", "--log"] : ["lsp"];
  const serverOptions = {
    run: { command: path, args, transport: TransportKind.stdio },
    debug: { command: path, args: ["lsp", "--log"], transport: TransportKind.stdio },
  };
  const clientOptions = {
    documentSelector: [{ scheme: "file", language: "tally" }],
    initializationOptions: snapshot ? { snapshot } : {},
    synchronize: {
      // Sends `workspace/didChangeConfiguration` with the `tally` section on changes.
      configurationSection: "tally",
      // Rule files changed on disk, tally.toml and snapshots: `workspace/didChangeWatchedFiles`.
      fileEvents: vscode.workspace.createFileSystemWatcher("**/{*.tally,tally.toml,*.json}"),
    },
  };
  client = new LanguageClient("tally", "Tally", serverOptions, clientOptions);
  context.subscriptions.push(
    vscode.commands.registerCommand("tally.restartServer", async () => {
      await client.restart();
    })
  );
  await client.start();
}

async function deactivate() {
  if (client) {
    await client.stop();
  }
}

module.exports = { activate, deactivate };
