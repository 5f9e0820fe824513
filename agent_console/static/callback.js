// The public "call me back" form: /public/<tenant>/callback posts to
// /api/public/<tenant>/callbacks and shows when the call is expected.
const tenant = decodeURIComponent(location.pathname.split("/")[2] || "");
const api = `/api/public/${encodeURIComponent(tenant)}`;
const $ = (id) => document.getElementById(id);

function showError(text) {
  const box = $("callback-error");
  box.textContent = text;
  box.hidden = !text;
}

function when(local, zone) {
  const [day, time] = local.split("T");
  return `${day} at ${time.slice(0, 5)} (${zone})`;
}

async function loadTopics() {
  const reply = await fetch(`${api}/topics`);
  if (!reply.ok) {
    showError("Callbacks cannot be requested here.");
    $("send").disabled = true;
    return;
  }
  const body = await reply.json();
  $("title").textContent = `${body.tenant}: call me back`;
  for (const topic of body.topics) {
    const option = document.createElement("option");
    option.value = topic;
    option.textContent = topic.replace(/[-_]/g, " ");
    $("topic").append(option);
  }
}

async function send(event) {
  event.preventDefault();
  showError("");
  const form = {
    name: $("name").value.trim(),
    number: $("number").value.trim(),
    topic: $("topic").value,
  };
  if ($("from").value) form.from = $("from").value;
  if ($("until").value) form.until = $("until").value;
  if (!form.name || !form.number) {
    showError("Please give your name and phone number.");
    return;
  }
  if (form.from && form.until && form.until <= form.from) {
    showError("The end of your window must come after its start.");
    return;
  }
  $("send").disabled = true;
  try {
    const reply = await fetch(`${api}/callbacks`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(form),
    });
    const body = await reply.json();
    if (!reply.ok) {
      const detail = Array.isArray(body.detail) ? body.detail[0].msg : body.detail;
      showError(detail || "The request could not be taken.");
      return;
    }
    const again = body.merged ? "We already had your request: w" : "W";
    $("confirmation").textContent =
      `${again}e will call ${body.number} between ${when(body.expected_local, body.timezone)}` +
      ` and ${when(body.until_local, body.timezone)}.`;
    $("confirmation").hidden = false;
    $("callback-form").hidden = true;
  } catch {
    showError("The service cannot be reached; please try again.");
  } finally {
    $("send").disabled = false;
  }
}

$("callback-form").addEventListener("submit", send);
loadTopics();
