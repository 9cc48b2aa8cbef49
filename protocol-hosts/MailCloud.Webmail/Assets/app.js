// MailCloud webmail: progressive enhancement only. Every action works without this script through plain forms;
// with it: keyboard shortcuts, drag and drop to folders, new-mail events, chunked attachment upload, draft auto-save
// and the simple formatted-text editor.
(function () {
  "use strict";
  const page = document.body.dataset.page;
  const token = () => (document.querySelector('input[name="__RequestVerificationToken"]') || {}).value || "";
  const post = (url, body, type) => fetch(url, {
    method: "POST", body, credentials: "same-origin",
    headers: Object.assign({ "RequestVerificationToken": token(), "X-Requested-With": "fetch" }, type ? { "Content-Type": type } : {})
  });
  const typing = (e) => e.target.closest("input, textarea, select, [contenteditable]");

  // ---- message list: selection, j/k, open, delete, drag and drop ----
  if (page === "list") {
    const rows = Array.from(document.querySelectorAll("#messages tbody tr"));
    let current = -1;
    const select = (i) => {
      if (!rows.length) return;
      current = Math.max(0, Math.min(rows.length - 1, i));
      rows.forEach((r, n) => r.classList.toggle("cursor", n === current));
      rows[current].scrollIntoView({ block: "nearest" });
    };
    const all = document.getElementById("select-all");
    if (all) all.addEventListener("change", () => rows.forEach(r => { r.querySelector('input[name="uid"]').checked = all.checked; }));
    rows.forEach((r, n) => {
      r.addEventListener("click", (e) => { if (!e.target.closest("a, input")) select(n); });
      r.addEventListener("dblclick", () => { location.href = r.dataset.href; });
      r.addEventListener("dragstart", (e) => {
        const ticked = rows.filter(x => x.querySelector('input[name="uid"]').checked).map(x => x.dataset.uid);
        e.dataTransfer.setData("text/x-mailcloud-uids", JSON.stringify(ticked.length && ticked.includes(r.dataset.uid) ? ticked : [r.dataset.uid]));
        e.dataTransfer.effectAllowed = "move";
      });
    });
    document.querySelectorAll("nav.folders li[data-folder]").forEach(li => {
      li.addEventListener("dragover", (e) => { e.preventDefault(); li.classList.add("drop"); });
      li.addEventListener("dragleave", () => li.classList.remove("drop"));
      li.addEventListener("drop", async (e) => {
        e.preventDefault();
        li.classList.remove("drop");
        const uids = JSON.parse(e.dataTransfer.getData("text/x-mailcloud-uids") || "[]");
        if (!uids.length) return;
        const form = new FormData();
        form.append("folder", document.querySelector('#list-form input[name="folder"]').value);
        form.append("act", "move");
        form.append("target", li.dataset.folder);
        uids.forEach(u => form.append("uid", u));
        const res = await post(location.pathname + "?handler=Act", form);
        if (res.ok) location.reload();
      });
    });
    document.addEventListener("keydown", (e) => {
      if (typing(e) || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === "j") select(current + 1);
      else if (e.key === "k") select(current - 1);
      else if ((e.key === "Enter" || e.key === "o") && current >= 0) location.href = rows[current].dataset.href;
      else if (e.key === "x" && current >= 0) { const c = rows[current].querySelector('input[name="uid"]'); c.checked = !c.checked; }
      else if (e.key === "#") {
        if (current >= 0 && !rows.some(r => r.querySelector('input[name="uid"]').checked)) rows[current].querySelector('input[name="uid"]').checked = true;
        document.getElementById("delete-selected").click();
      } else return;
      e.preventDefault();
    });
  }

  // ---- read view: r, a, f, #, u ----
  if (page === "read") {
    document.addEventListener("keydown", (e) => {
      if (typing(e) || e.ctrlKey || e.metaKey || e.altKey) return;
      const click = (id) => { const el = document.getElementById(id); if (el) el.click(); };
      if (e.key === "r") click("reply");
      else if (e.key === "a") click("reply-all");
      else if (e.key === "f") click("forward");
      else if (e.key === "#") click("delete-button");
      else if (e.key === "u") click("back");
      else return;
      e.preventDefault();
    });
  }

  // ---- everywhere: c, /, new-mail events ----
  document.addEventListener("keydown", (e) => {
    if (typing(e) || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "c" && page !== "compose") { location.href = "/mail/compose"; e.preventDefault(); }
    else if (e.key === "/") { const q = document.getElementById("q"); if (q) { q.focus(); e.preventDefault(); } }
  });
  if (page === "list" && window.EventSource) {
    const events = new EventSource("/mail/events");
    // Once the user is on the way elsewhere, a change (often their own: opening a message marks it read) must not
    // reload this page and cancel that navigation.
    let leaving = false;
    const leave = () => { leaving = true; events.close(); };
    window.addEventListener("beforeunload", leave);
    document.addEventListener("click", (e) => { if (e.target.closest("a[href], button")) leave(); }, true);
    document.addEventListener("submit", leave, true);
    events.addEventListener("changed", () => {
      if (leaving) return;
      const banner = document.getElementById("new-mail");
      const busy = document.querySelector('#messages input[name="uid"]:checked');
      // On the first page with nothing ticked, show the change at once; otherwise offer it.
      if (!busy && !/[?&]p=\d/.test(location.search)) location.reload();
      else if (banner) banner.classList.remove("hidden");
    });
  }

  // ---- compose: formatted text, chunked uploads, draft auto-save ----
  if (page === "compose") {
    const form = document.getElementById("compose-form");
    const rich = document.getElementById("rich"), editor = document.getElementById("rich-editor"), html = document.getElementById("html"), text = document.getElementById("text");
    const bar = document.getElementById("rich-toolbar");
    const showRich = () => {
      const on = rich.checked;
      [editor, bar].forEach(el => el.classList.toggle("hidden", !on));
      text.classList.toggle("hidden", on);
      if (on && !editor.innerHTML.trim()) {
        editor.innerHTML = html.value.trim() ? html.value : text.value.split("\n").map(l => l.replace(/[&<>]/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" }[c]))).join("<br>");
      }
    };
    rich.addEventListener("change", showRich);
    showRich();
    bar.addEventListener("click", (e) => {
      const b = e.target.closest("button[data-cmd]");
      if (!b) return;
      const cmd = b.dataset.cmd;
      document.execCommand(cmd, false, cmd === "createLink" ? prompt("Link address (https://…)") : null);
      editor.focus();
    });
    const sync = () => { if (rich.checked) { html.value = editor.innerHTML; text.value = editor.innerText; } };
    form.addEventListener("submit", sync);

    // Attachments: uploaded as they are chosen, in chunks, so large files survive a slow connection.
    const files = document.getElementById("files"), list = document.getElementById("attachment-list"), status = document.getElementById("upload-status");
    const maxSize = Number(form.dataset.maxSize);
    files.addEventListener("change", async () => {
      for (const file of Array.from(files.files)) {
        if (file.size > maxSize) { status.textContent = file.name + " is larger than the size limit."; continue; }
        status.textContent = "Uploading " + file.name + " …";
        const start = await post("/mail/upload", null);
        if (!start.ok) { status.textContent = "Upload refused."; continue; }
        const { id, chunkSize } = await start.json();
        let index = 0, failed = false;
        for (let offset = 0; offset < file.size || (offset === 0 && index === 0); offset += chunkSize) {
          const res = await post("/mail/upload/" + id + "/" + index, file.slice(offset, offset + chunkSize), "application/octet-stream");
          if (!res.ok) { failed = true; break; }
          index++;
          status.textContent = "Uploading " + file.name + " … " + Math.min(100, Math.round(100 * (offset + chunkSize) / Math.max(1, file.size))) + " %";
          if (file.size === 0) break;
        }
        const done = failed ? null : await post("/mail/upload/" + id + "/done?count=" + index + "&name=" + encodeURIComponent(file.name) + "&type=" + encodeURIComponent(file.type || "application/octet-stream"), null);
        if (!done || !done.ok) { status.textContent = "Could not upload " + file.name + "."; continue; }
        const info = await done.json();
        const li = document.createElement("li");
        li.innerHTML = '<label class="check"><input type="checkbox" name="Uploads" checked> <span></span></label>';
        li.querySelector("input").value = info.id;
        li.querySelector("span").textContent = info.name + " (" + info.size + " bytes)";
        list.appendChild(li);
        status.textContent = file.name + " attached.";
        dirty = true;
      }
      files.value = "";
    });

    // Drafts: saved after a pause in typing, and every 30 s while it keeps changing.
    let dirty = false, saving = false;
    const draftStatus = document.getElementById("draft-status");
    form.addEventListener("input", () => { dirty = true; });
    const save = async () => {
      if (!dirty || saving) return;
      saving = true; dirty = false; sync();
      const data = new FormData(form);
      data.delete("files");
      try {
        const res = await post(location.pathname + "?handler=Save", data);
        const body = await res.json();
        if (!res.ok) { draftStatus.textContent = body.error || "Draft not saved."; return; }
        const set = (name, value) => { form.querySelector('input[name="' + name + '"]').value = value; };
        set("DraftUid", body.uid); set("SourceFolder", "Drafts"); set("SourceUid", body.uid); set("AttachFolder", ""); set("AttachUid", "");
        // The draft now holds every attachment: list its parts instead of the uploads.
        list.innerHTML = "";
        body.attachments.forEach(a => {
          const li = document.createElement("li");
          li.innerHTML = '<label class="check"><input type="checkbox" name="SourceParts" checked> <span></span></label>';
          li.querySelector("input").value = a.index;
          li.querySelector("span").textContent = a.name + " (" + a.size + ")";
          list.appendChild(li);
        });
        draftStatus.textContent = "Draft saved " + new Date().toLocaleTimeString();
      } catch (err) {
        draftStatus.textContent = "Draft not saved (offline?)";
        dirty = true;
      } finally { saving = false; }
    };
    let timer = null;
    form.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(save, 3000); });
    setInterval(save, 30000);
  }
})();
