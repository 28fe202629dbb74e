# Drives headless Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe: no
# port, no extra packages). Reads one JSON command per line on stdin, answers one JSON line:
#   {"op": "goto", "url": U}            -> the page after it loaded
#   {"op": "accept", "name": N}          -> fills the consent form, ticks, submits; the page after
#   {"op": "screenshot", "path": P}     -> writes a PNG of the current page
# Each answer: {"url", "title", "text", "error"}. Stdin closing ends the browser.
import json, os, subprocess, sys, threading, queue

chromium_arguments = sys.argv[1:]
to_browser_read, to_browser_write = os.pipe()
from_browser_read, from_browser_write = os.pipe()

def child_fds():
    os.dup2(to_browser_read, 3)
    os.dup2(from_browser_write, 4)

browser = subprocess.Popen(["chromium", "--remote-debugging-pipe"] + chromium_arguments, preexec_fn=child_fds, pass_fds=(3, 4),
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
os.close(to_browser_read)
os.close(from_browser_write)
writer = os.fdopen(to_browser_write, "wb", buffering=0)
reader = os.fdopen(from_browser_read, "rb", buffering=0)

responses = {}
events = queue.Queue()
lock = threading.Condition()

def read_loop():
    buffer = b""
    while True:
        chunk = reader.read(65536)
        if not chunk:
            break
        buffer += chunk
        while b"\0" in buffer:
            message, buffer = buffer.split(b"\0", 1)
            data = json.loads(message)
            if "id" in data:
                with lock:
                    responses[data["id"]] = data
                    lock.notify_all()
            else:
                events.put(data)

threading.Thread(target=read_loop, daemon=True).start()
next_id = [0]

def send(method, params=None, session=None, timeout=20):
    next_id[0] += 1
    message = {"id": next_id[0], "method": method, "params": params or {}}
    if session:
        message["sessionId"] = session
    writer.write(json.dumps(message).encode() + b"\0")
    with lock:
        if not lock.wait_for(lambda: next_id[0] in responses, timeout):
            raise RuntimeError("no answer to " + method)
        answer = responses.pop(next_id[0])
    if "error" in answer:
        raise RuntimeError(method + ": " + json.dumps(answer["error"]))
    return answer.get("result", {})

def drain():
    while not events.empty():
        events.get_nowait()

def wait_for_load(session, timeout=20):
    while True:
        event = events.get(timeout=timeout)
        if event.get("method") == "Page.loadEventFired" and event.get("sessionId") == session:
            return

target = send("Target.createTarget", {"url": "about:blank"})["targetId"]
session = send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
send("Page.enable", session=session)
send("Runtime.enable", session=session)

def evaluate(expression):
    result = send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}, session=session)
    return result.get("result", {}).get("value")

def page_state(error=None):
    state = evaluate("JSON.stringify({url: location.href, title: document.title, text: document.body ? document.body.innerText : ''})")
    answer = json.loads(state) if state else {"url": "", "title": "", "text": ""}
    answer["error"] = error
    return answer

for line in sys.stdin:
    command = json.loads(line)
    error = None
    try:
        if command["op"] == "goto":
            drain()
            navigated = send("Page.navigate", {"url": command["url"]}, session=session)
            error = navigated.get("errorText")
            wait_for_load(session)
        elif command["op"] == "accept":
            drain()
            name = json.dumps(command.get("name", ""))
            evaluate("document.getElementById('name').value = %s; document.querySelector('input[name=agree]').checked = true; "
                     "document.querySelector('button[type=submit]').click(); true" % name)
            wait_for_load(session)
        elif command["op"] == "screenshot":
            shot = send("Page.captureScreenshot", {"format": "png"}, session=session)
            import base64
            with open(command["path"], "wb") as handle:
                handle.write(base64.b64decode(shot["data"]))
        print(json.dumps(page_state(error)), flush=True)
    except Exception as failure:
        print(json.dumps({"url": "", "title": "", "text": "", "error": str(failure)}), flush=True)

browser.terminate()
try:
    browser.wait(timeout=10)
except subprocess.TimeoutExpired:
    browser.kill()
