using Microsoft.AspNetCore.Http;

namespace MultiLora.Serve.Page;

/// <summary>The chat page at / (HTML, script and style shipped inside the assembly: no CDN, works offline).</summary>
public static class ChatPage
{
    public static readonly (string Path, string Resource, string ContentType)[] Files =
    [
        ("/", "index.html", "text/html; charset=utf-8"),
        ("/chat.js", "chat.js", "text/javascript; charset=utf-8"),
        ("/chat.css", "chat.css", "text/css; charset=utf-8"),
    ];

    public static async Task ServeAsync(HttpContext ctx, string resource, string contentType)
    {
        await using var stream = typeof(ChatPage).Assembly.GetManifestResourceStream($"MultiLora.Serve.Page.{resource}")
            ?? throw new InvalidOperationException($"chat page resource {resource} is missing from the assembly");
        ctx.Response.ContentType = contentType;
        ctx.Response.Headers.CacheControl = "no-cache";
        await stream.CopyToAsync(ctx.Response.Body, ctx.RequestAborted);
    }
}
