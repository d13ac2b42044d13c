using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using MultiLora.Llava.Sessions;
using MultiLora.Tests.Common;
using OpenAI;
using OpenAI.Chat;

namespace MultiLora.Serve.Tests;

/// <summary>
/// The real server on 127.0.0.1 (a free port) over the fixture model with the test adapters, started in this
/// process; clients talk to it over real HTTP.
/// </summary>
sealed class TestServer : IAsyncDisposable
{
    public const string BaseId = "tiny-llava";

    public LlavaSession Session { get; }
    public ServeHost Host { get; }
    public HttpClient Http { get; }
    public Uri V1 => new(Host.BaseAddress, "v1/");

    TestServer(LlavaSession session, ServeHost host)
    {
        Session = session;
        Host = host;
        Http = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
    }

    public static async Task<TestServer> StartAsync(ServeOptions? options = null, IReadOnlyList<(string Name, string Dir)>? adapters = null)
    {
        var session = LlavaSession.Open(new SessionOptions(new ModelSource(Fixture.Path("model"))));
        try
        {
            var host = await ServeHost.StartAsync(session, BaseId, (options ?? new ServeOptions()) with { Port = 0, HandleSignals = false },
                adapters ?? TestAdapters.All);
            return new TestServer(session, host);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>The official OpenAI client pointed at this server.</summary>
    public ChatClient Chat(string model, string apiKey = "unused", int retries = 0) =>
        new(model, new ApiKeyCredential(apiKey), Options(retries));

    public OpenAIClientOptions Options(int retries = 0) => new()
    {
        Endpoint = V1,
        RetryPolicy = new ClientRetryPolicy(retries),
        NetworkTimeout = TimeSpan.FromMinutes(2),
    };

    /// <summary>POSTs JSON text as is (malformed bodies included) to a /v1 route.</summary>
    public async Task<(int Status, JsonNode? Body, HttpResponseMessage Response)> PostRaw(string route, string json, string? apiKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(V1, route)) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (apiKey is not null) request.Headers.Authorization = new("Bearer", apiKey);
        var response = await Http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        JsonNode? body = null;
        try { body = text.Length > 0 ? JsonNode.Parse(text) : null; } catch (System.Text.Json.JsonException) { }
        return ((int)response.StatusCode, body, response);
    }

    public Task<(int Status, JsonNode? Body, HttpResponseMessage Response)> Post(string route, JsonObject body, string? apiKey = null) =>
        PostRaw(route, body.ToJsonString(), apiKey);

    /// <summary>A greedy chat request body: one user message with the text and, optionally, the fixture image as a data URL.</summary>
    public static JsonObject Greedy(string model, string text, bool image, int maxTokens, bool tokenIds = true)
    {
        JsonNode content = image
            ? new JsonArray(new JsonObject { ["type"] = "text", ["text"] = text },
                new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = FixtureImageDataUrl } })
            : text;
        return new JsonObject
        {
            ["model"] = model,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = content }),
            ["temperature"] = 0,
            ["max_tokens"] = maxTokens,
            ["return_token_ids"] = tokenIds,
        };
    }

    public static byte[] FixtureImage => File.ReadAllBytes(Fixture.Path("image.png"));
    public static string FixtureImageDataUrl => "data:image/png;base64," + Convert.ToBase64String(FixtureImage);

    public static int[] TokenIds(JsonNode response) => response["choices"]![0]!["token_ids"]!.AsArray().Select(t => t!.GetValue<int>()).ToArray();
    public static string Content(JsonNode response) => response["choices"]![0]!["message"]!["content"]!.GetValue<string>();

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        Http.Dispose();
        Session.Dispose();
    }
}
