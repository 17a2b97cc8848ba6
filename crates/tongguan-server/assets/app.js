// Live timelines (M15): on a declaration's page, listen to the caller's status stream and
// reload the timeline fragment when a message names this declaration. No build step.
document.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("timeline");
  if (!box || !window.EventSource) return;
  var id = box.getAttribute("data-declaration");
  var source = new EventSource("/api/v1/events/stream");
  source.addEventListener("declaration.status", function (e) {
    try {
      if (JSON.parse(e.data).declaration_id !== id) return;
    } catch (_) { return; }
    htmx.ajax("GET", "/app/declarations/" + id + "/timeline", { target: "#timeline", swap: "innerHTML" });
  });
});
