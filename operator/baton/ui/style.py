"""The UI's one stylesheet, inline in every page (nothing is fetched). Phase colours match `kubectl baton
graph` (green, red, cyan, grey, yellow, magenta) and the Grafana dashboard."""

CSS = """
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #ffffff; --panel: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
  background: var(--bg); }
nav { display: flex; gap: 16px; align-items: baseline; padding: 10px 24px;
  border-bottom: 1px solid var(--line); background: var(--panel); }
nav .brand { font-weight: 700; font-size: 16px; color: var(--fg); text-decoration: none; }
main { padding: 8px 24px 48px; max-width: 1400px; }
section.log { padding: 0 24px 48px; max-width: 1400px; }
h2 { font-size: 15px; margin: 24px 0 8px; }
a { color: #0969da; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 10px 4px 0; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
td .message { color: var(--muted); white-space: pre-wrap; word-break: break-word; }
code, pre { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre.log { background: #0d1117; color: #e6edf3; padding: 12px; overflow: auto; max-height: 70vh;
  white-space: pre-wrap; }
.note { color: var(--muted); }
.error { color: #d1242f; font-weight: 600; }
.scroll { overflow: auto; border: 1px solid var(--line); border-radius: 6px; padding: 8px; max-height: 75vh; }
/* A 1,000-task run's page: what is off screen is laid out and drawn when scrolled to, not at load. */
table.tasks tbody tr, table.events tbody tr { content-visibility: auto; contain-intrinsic-size: auto 24px; }
form.filters { display: flex; gap: 12px; align-items: center; margin: 12px 0; }
.actions { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; margin: 12px 0; }
form.action { display: flex; gap: 6px; align-items: center; }
button { font: inherit; padding: 3px 12px; border: 1px solid var(--line); border-radius: 6px;
  background: var(--panel); cursor: pointer; }
button.primary { background: #1f883d; border-color: #1a7f37; color: #fff; }
button.danger { color: #cf222e; }
p.actor { color: var(--muted); margin: 8px 0 0; }
.phase { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
.phase-Succeeded { --c: #1a7f37; --f: #dafbe1; }
.phase-Failed { --c: #cf222e; --f: #ffebe9; }
.phase-Running { --c: #0e7c86; --f: #d8f3f6; }
.phase-Pending { --c: #6e7781; --f: #f6f8fa; }
.phase-Skipped, .phase-Suspended { --c: #9a6700; --f: #fff8c5; }
.phase-Cancelled { --c: #8250df; --f: #fbefff; }
span.phase { color: var(--c, #0550ae); background: var(--f, #ddf4ff); }
svg .node rect { fill: var(--f, #ddf4ff); stroke: var(--c, #0550ae); stroke-width: 1.5; }
svg .node text.name { font: 600 12px system-ui, sans-serif; fill: var(--fg); }
svg .node text.detail { font: 11px system-ui, sans-serif; fill: var(--muted); }
svg .edge { fill: none; stroke: #8c959f; stroke-width: 1.2; }
svg .arrowhead { fill: #8c959f; }
svg .bar rect { fill: var(--c, #0550ae); opacity: .85; }
svg .bar text, svg text.axis { font: 11px system-ui, sans-serif; fill: var(--muted); }
"""
