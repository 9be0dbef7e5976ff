// The connection indicator in the top bar.
export function setConnection(ok: boolean, text?: string): void {
  const el = document.getElementById("conn");
  if (!el) return;
  el.textContent = text ?? (ok ? "" : "server unreachable");
  el.className = "conn " + (ok ? "ok" : "down");
}
