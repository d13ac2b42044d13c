// The chat page: picks a model (base or adapter) from /v1/models, attaches an image as a data: URL, and streams
// the answer from /v1/chat/completions (server-sent events) into the conversation. No libraries, no network but
// the server that serves it.
"use strict";

const $ = (id) => document.getElementById(id);
const history = [];          // OpenAI messages of this conversation
let image = null;            // data: URL of the attached image, sent with the first question after attaching

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = $("api-key").value.trim();
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

function status(text) { $("status").textContent = text; }

async function errorText(response) {
  try { const body = await response.json(); return body.error ? body.error.message : JSON.stringify(body); }
  catch { return response.status + " " + response.statusText; }
}

async function loadModels() {
  const response = await fetch("/v1/models", { headers: headers() });
  if (!response.ok) { status("could not list models: " + await errorText(response)); return; }
  const select = $("model");
  const previous = select.value;
  select.replaceChildren();
  for (const m of (await response.json()).data) {
    const option = document.createElement("option");
    option.value = m.id;
    option.textContent = m.parent ? m.id + " (adapter)" : m.id + " (base)";
    select.append(option);
  }
  if (previous) select.value = previous;
  status("");
}

function addTurn(role, text, imageUrl) {
  const turn = document.createElement("div");
  turn.className = "turn " + role;
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = role === "user" ? "you" : $("model").value;
  turn.append(who);
  if (imageUrl) { const img = document.createElement("img"); img.src = imageUrl; turn.append(img); }
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  turn.append(body);
  $("conversation").append(turn);
  turn.scrollIntoView({ block: "end" });
  return turn;
}

async function send(event) {
  event.preventDefault();
  const question = $("question").value.trim();
  if (!question) return;
  const content = [{ type: "text", text: question }];
  if (image) content.push({ type: "image_url", image_url: { url: image } });
  addTurn("user", question, image);
  history.push({ role: "user", content });
  image = null;
  $("preview").hidden = true;
  $("image").value = "";
  $("question").value = "";

  const answer = addTurn("assistant", "");
  answer.dataset.state = "streaming";
  const text = answer.querySelector(".text");
  $("send").disabled = true;
  status("waiting for the first token...");
  const started = performance.now();
  try {
    const response = await fetch("/v1/chat/completions", {
      method: "POST",
      headers: headers(),
      body: JSON.stringify({
        model: $("model").value,
        messages: history,
        stream: true,
        stream_options: { include_usage: true },
        max_tokens: Number($("max-tokens").value) || undefined,
        temperature: Number($("temperature").value),
      }),
    });
    if (!response.ok) throw new Error(await errorText(response));
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "", usage = null, finish = null;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const line = buffer.slice(0, end).trim();
        buffer = buffer.slice(end + 2);
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") continue;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new Error(chunk.error.message);
        if (chunk.usage) usage = chunk.usage;
        const choice = chunk.choices && chunk.choices[0];
        if (!choice) continue;
        if (choice.delta && choice.delta.content) {
          text.textContent += choice.delta.content;
          status("streaming...");
        }
        if (choice.finish_reason) finish = choice.finish_reason;
      }
    }
    history.push({ role: "assistant", content: text.textContent });
    answer.dataset.state = "done";
    const seconds = (performance.now() - started) / 1000;
    status(usage
      ? `${usage.completion_tokens} tokens in ${seconds.toFixed(1)} s (${finish})`
      : `done in ${seconds.toFixed(1)} s (${finish})`);
  } catch (e) {
    answer.dataset.state = "error";
    text.textContent = text.textContent || e.message;
    history.pop();
    status("error: " + e.message);
  } finally {
    $("send").disabled = false;
  }
}

$("image").addEventListener("change", () => {
  const file = $("image").files[0];
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => { image = reader.result; $("preview").src = image; $("preview").hidden = false; };
  reader.readAsDataURL(file);
});
$("clear").addEventListener("click", () => { history.length = 0; $("conversation").replaceChildren(); status(""); });
$("composer").addEventListener("submit", send);
$("api-key").addEventListener("change", loadModels);
loadModels();
