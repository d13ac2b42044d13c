using System.Net;
using System.Net.Sockets;

namespace MultiLora.Serve.Tests;

/// <summary>
/// A real HTTP server on 127.0.0.1 handing out images for the server to fetch: /ok.png (the fixture image),
/// /missing (404), /slow.png (answers after 5 s), /big.png (1 MB), /text.png (bytes that are not an image).
/// </summary>
sealed class ImageServer : IDisposable
{
    readonly HttpListener _listener = new();
    readonly CancellationTokenSource _stop = new();

    public string BaseUrl { get; }

    public ImageServer()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        BaseUrl = $"http://127.0.0.1:{port}";
        _listener.Prefixes.Add(BaseUrl + "/");
        _listener.Start();
        _ = Task.Run(Loop);
    }

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
            byte[]? body = ctx.Request.Url!.AbsolutePath switch
            {
                "/ok.png" => TestServer.FixtureImage,
                "/big.png" => new byte[1 << 20],
                "/text.png" => "this is not an image"u8.ToArray(),
                "/slow.png" => await Slow(),
                _ => null,
            };
            if (body is null) ctx.Response.StatusCode = 404;
            else
            {
                ctx.Response.ContentType = "image/png";
                ctx.Response.ContentLength64 = body.Length;
                await ctx.Response.OutputStream.WriteAsync(body, _stop.Token);
            }
            ctx.Response.Close();
        }
        catch (Exception) { /* the fetching side gave up (timeout tests) */ }
    }

    async Task<byte[]> Slow()
    {
        await Task.Delay(TimeSpan.FromSeconds(5), _stop.Token);
        return TestServer.FixtureImage;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Close();
    }
}
