using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace MultiLora.Eval.Tests;

/// <summary>
/// A real local HTTP server speaking the chat-completions protocol on 127.0.0.1 (HttpListener, free port).
/// The handler sees the call number (1-based) and the request JSON and answers (status, body, delay).
/// </summary>
sealed class JudgeServer : IDisposable
{
    readonly HttpListener _listener = new();
    readonly Func<int, JsonNode, (int Status, string Body, int DelayMs)> _handler;
    readonly CancellationTokenSource _stop = new();
    int _calls;

    public string BaseUrl { get; }
    public int Calls => Volatile.Read(ref _calls);
    public List<JsonNode> Requests { get; } = [];

    public JudgeServer(Func<int, JsonNode, (int, string, int)> handler)
    {
        _handler = handler;
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        BaseUrl = $"http://127.0.0.1:{port}/v1";
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _ = Task.Run(Loop);
    }

    /// <summary>A well-formed chat-completions reply carrying <paramref name="content"/>.</summary>
    public static string Reply(string content) => new JsonObject
    {
        ["id"] = "chatcmpl-test", ["object"] = "chat.completion", ["model"] = "judge-test",
        ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["finish_reason"] = "stop", ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = content } }),
    }.ToJsonString();

    async Task Loop()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            _ = Task.Run(() => Serve(ctx));
        }
    }

    async Task Serve(HttpListenerContext ctx)
    {
        try
        {
            var body = await new StreamReader(ctx.Request.InputStream).ReadToEndAsync();
            var request = JsonNode.Parse(body)!;
            int call;
            lock (Requests) { Requests.Add(request); call = ++_calls; }
            if (ctx.Request.Url!.AbsolutePath != "/v1/chat/completions" || ctx.Request.HttpMethod != "POST")
            {
                ctx.Response.StatusCode = 404;
                ctx.Response.Close();
                return;
            }
            var (status, reply, delay) = _handler(call, request);
            if (delay > 0) await Task.Delay(delay, _stop.Token);
            var bytes = Encoding.UTF8.GetBytes(reply);
            ctx.Response.StatusCode = status;
            ctx.Response.ContentType = "application/json";
            await ctx.Response.OutputStream.WriteAsync(bytes);
            ctx.Response.Close();
        }
        catch (Exception) { try { ctx.Response.Abort(); } catch (Exception) { } }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Close();
    }
}
