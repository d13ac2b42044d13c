using System.Text.Json.Nodes;
using MultiLora.Serve.Api;

namespace MultiLora.Serve.Tests;

/// <summary>A server with small image limits (1 s fetch timeout, 64 KiB) and an image server beside it.</summary>
public sealed class BadInputServer : IAsyncLifetime
{
    internal TestServer Server { get; private set; } = null!;
    internal ImageServer Images { get; } = new();

    public async Task InitializeAsync() => Server = await TestServer.StartAsync(
        new ServeOptions(Images: new ImageLoadOptions(FetchTimeout: TimeSpan.FromSeconds(1), MaxBytes: 64 << 10)),
        adapters: []);

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        Images.Dispose();
    }
}

/// <summary>Every kind of bad input gets a 400 (404 for an unknown model) in OpenAI's error shape, naming the field; the server goes on serving.</summary>
public sealed class BadInputTests(BadInputServer fixture) : IClassFixture<BadInputServer>
{
    TestServer Server => fixture.Server;
    static readonly string Image = TestServer.FixtureImageDataUrl;

    static string Chat(string content, string extra = "") =>
        $$"""{"model": "{{TestServer.BaseId}}", "messages": [{"role": "user", "content": {{content}}}]{{extra}}}""";

    static string Parts(params string[] parts) => "[" + string.Join(", ", parts) + "]";
    static string Text(string text) => $$"""{"type": "text", "text": "{{text}}"}""";
    static string ImageUrl(string url) => $$$"""{"type": "image_url", "image_url": {"url": "{{{url}}}"}}""";

    public static TheoryData<string, string, int, string?, string> Cases() => new()
    {
        // name, body, status, param, a word the message must contain
        { "malformed JSON", """{"model": "x", "messages": [""", 400, null, "not valid JSON" },
        { "body not an object", "[1, 2]", 400, null, "JSON object" },
        { "model missing", """{"messages": [{"role": "user", "content": "hi"}]}""", 400, "model", "required" },
        { "model not a string", """{"model": 7, "messages": [{"role": "user", "content": "hi"}]}""", 400, "model", "expected a string" },
        { "messages missing", $$"""{"model": "{{TestServer.BaseId}}"}""", 400, "messages", "required" },
        { "messages empty", $$"""{"model": "{{TestServer.BaseId}}", "messages": []}""", 400, "messages", "at least one" },
        { "messages not an array", $$"""{"model": "{{TestServer.BaseId}}", "messages": "hi"}""", 400, "messages", "expected an array" },
        { "role unknown", $$"""{"model": "{{TestServer.BaseId}}", "messages": [{"role": "tool", "content": "x"}]}""", 400, "messages[0].role", "not supported" },
        { "content a number", Chat("5"), 400, "messages[0].content", "expected a string or an array" },
        { "part not an object", Chat("[5]"), 400, "messages[0].content[0]", "expected a content part" },
        { "part type unknown", Chat(Parts("""{"type": "input_audio"}""")), 400, "messages[0].content[0].type", "not supported" },
        { "text part without text", Chat(Parts("""{"type": "text"}""")), 400, "messages[0].content[0].text", "required" },
        { "image_url not an object", Chat(Parts(Text("hi"), """{"type": "image_url", "image_url": 3}""")), 400, "messages[0].content[1].image_url", "expected an object" },
        { "temperature a string", Chat("\"hi\"", """, "temperature": "hot" """), 400, "temperature", "expected a number" },
        { "temperature out of range", Chat("\"hi\"", """, "temperature": 3"""), 400, "temperature", "between 0 and 2" },
        { "top_p zero", Chat("\"hi\"", """, "top_p": 0"""), 400, "top_p", "greater than 0" },
        { "max_tokens zero", Chat("\"hi\"", """, "max_tokens": 0"""), 400, "max_tokens", "at least 1" },
        { "max_tokens fractional", Chat("\"hi\"", """, "max_tokens": 1.5"""), 400, "max_tokens", "expected an integer" },
        { "max_completion_tokens a string", Chat("\"hi\"", """, "max_completion_tokens": "9" """), 400, "max_completion_tokens", "expected an integer" },
        { "seed a string", Chat("\"hi\"", """, "seed": "x" """), 400, "seed", "expected an integer" },
        { "n above 1", Chat("\"hi\"", """, "n": 2"""), 400, "n", "only n=1" },
        { "stop a number", Chat("\"hi\"", """, "stop": 5"""), 400, "stop", "expected a string or an array" },
        { "too many stop strings", Chat("\"hi\"", """, "stop": ["a", "b", "c", "d", "e"]"""), 400, "stop", "at most 4" },
        { "stream not a boolean", Chat("\"hi\"", """, "stream": "yes" """), 400, "stream", "expected a boolean" },
        { "stream_options without stream", Chat("\"hi\"", """, "stream_options": {"include_usage": true}"""), 400, "stream_options", "only allowed when stream is true" },
        { "tools", Chat("\"hi\"", """, "tools": [{"type": "function"}]"""), 400, "tools", "not supported" },
        { "last message not the user's", $$"""{"model": "{{TestServer.BaseId}}", "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}""", 400, "messages[1].role", "the last message must be the user's" },
        { "turns not alternating", $$"""{"model": "{{TestServer.BaseId}}", "messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}""", 400, "messages", "alternate" },
        { "image in an assistant message", $$"""{"model": "{{TestServer.BaseId}}", "messages": [{"role": "assistant", "content": [{{ImageUrl(Image)}}]}, {"role": "user", "content": "b"}]}""", 400, "messages[0].content[0]", "only be sent in user messages" },
        { "two images", Chat(Parts(Text("hi"), ImageUrl(Image), ImageUrl(Image))), 400, "messages", "too many images" },
        { "data URL not base64", Chat(Parts(Text("hi"), ImageUrl("data:image/png,rawbytes"))), 400, "messages[0].content[1].image_url.url", "not base64" },
        { "data URL with bad base64", Chat(Parts(Text("hi"), ImageUrl("data:image/png;base64,@@@@"))), 400, "messages[0].content[1].image_url.url", "not valid base64" },
        { "data URL not an image type", Chat(Parts(Text("hi"), ImageUrl("data:text/plain;base64,aGk="))), 400, "messages[0].content[1].image_url.url", "not an image type" },
        { "image that does not decode", Chat(Parts(Text("hi"), ImageUrl("data:image/png;base64," + Convert.ToBase64String("not a png at all"u8.ToArray())))), 400, "messages[0].content[1].image_url.url", "could not decode" },
        { "image over the size cap", Chat(Parts(Text("hi"), ImageUrl("data:image/png;base64," + Convert.ToBase64String(new byte[100_000])))), 400, "messages[0].content[1].image_url.url", "larger than" },
        { "unsupported URL scheme", Chat(Parts(Text("hi"), ImageUrl("ftp://example/x.png"))), 400, "messages[0].content[1].image_url.url", "expected a data:image" },
        { "local path without --allow-local-images", Chat(Parts(Text("hi"), ImageUrl("/etc/hostname"))), 400, "messages[0].content[1].image_url.url", "--allow-local-images" },
        { "file URL without --allow-local-images", Chat(Parts(Text("hi"), ImageUrl("file:///etc/hostname"))), 400, "messages[0].content[1].image_url.url", "--allow-local-images" },
        { "image placeholder typed in the text without an image", Chat("\"look: <image>\""), 400, "messages", "<image>" },
        { "context length", Chat("\"hi\"", """, "max_tokens": 600"""), 400, "max_tokens", "512" },
        { "context length via max_completion_tokens", Chat("\"hi\"", """, "max_completion_tokens": 100000"""), 400, "max_completion_tokens", "context length of 512" },
        { "unknown model", Chat("\"hi\"").Replace(TestServer.BaseId, "gpt-4o"), 404, "model", "gpt-4o" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task BadInput_IsRefusedInOpenAisErrorShape_NamingTheField(string name, string body, int status, string? param, string says)
    {
        var (actual, json, _) = await Server.PostRaw("chat/completions", body);
        Assert.True(actual == status, $"{name}: HTTP {actual}, expected {status}: {json?.ToJsonString()}");
        AssertError(json, param, says, name);
    }

    [Theory]
    [InlineData("/missing", "HTTP 404")]
    [InlineData("/slow.png", "timed out after 1 s")]
    [InlineData("/big.png", "larger than 65536 bytes")]
    [InlineData("/text.png", "could not decode")]
    public async Task ImageUrlThatCannotBeFetched_Is400NamingTheField(string path, string says)
    {
        var (status, json, _) = await Server.PostRaw("chat/completions", Chat(Parts(Text("hi"), ImageUrl(fixture.Images.BaseUrl + path))));
        Assert.Equal(400, status);
        AssertError(json, "messages[0].content[1].image_url.url", says, path);
    }

    [Fact]
    public async Task ImageFetchedOverHttp_AnswersAsTheSameImageSentInline()
    {
        var fetched = await Server.PostRaw("chat/completions", Chat(Parts(Text("What color?"), ImageUrl(fixture.Images.BaseUrl + "/ok.png")), """, "temperature": 0, "max_tokens": 8"""));
        var inline = await Server.PostRaw("chat/completions", Chat(Parts(Text("What color?"), ImageUrl(Image)), """, "temperature": 0, "max_tokens": 8"""));
        Assert.Equal(200, fetched.Status);
        Assert.Equal(TestServer.Content(inline.Body!), TestServer.Content(fetched.Body!));
    }

    [Fact]
    public async Task AfterBadRequests_TheServerStillAnswers()
    {
        foreach (var bad in new[] { "{", Chat("5"), Chat(Parts(ImageUrl("data:image/png;base64,AAAA"))) })
            Assert.Equal(400, (await Server.PostRaw("chat/completions", bad)).Status);
        var (status, json, _) = await Server.Post("chat/completions", TestServer.Greedy(TestServer.BaseId, "hello", image: true, maxTokens: 4));
        Assert.Equal(200, status);
        Assert.Equal("chat.completion", json!["object"]!.GetValue<string>());
    }

    [Fact]
    public async Task UnknownRoute_Is404InOpenAisErrorShape()
    {
        var response = await Server.Http.GetAsync("/v1/completions-nope");
        Assert.Equal(404, (int)response.StatusCode);
        AssertError(JsonNode.Parse(await response.Content.ReadAsStringAsync()), null, "no route", "unknown route");
    }

    static void AssertError(JsonNode? json, string? param, string says, string name)
    {
        Assert.True(json is JsonObject, $"{name}: the body is not a JSON object");
        var error = json!["error"] as JsonObject;
        Assert.True(error is not null, $"{name}: no 'error' object in {json.ToJsonString()}");
        Assert.Equal(["message", "type", "param", "code"], error!.Select(kv => kv.Key));
        Assert.Equal(param, error["param"]?.GetValue<string>());
        Assert.Contains(says, error["message"]!.GetValue<string>());
        if (param is not null && param != "model") Assert.StartsWith(param + ":", error["message"]!.GetValue<string>());
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
    }
}
