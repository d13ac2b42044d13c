using System.ClientModel;
using System.Text;
using System.Text.Json.Nodes;
using OpenAI.Chat;
using OpenAI.Models;

namespace MultiLora.Serve.Tests;

/// <summary>The server through the official OpenAI .NET client: plain and streamed chat with an image, models, adapters.</summary>
[Collection(ServerCollection.Name)]
public sealed class ChatCompletionTests(SharedServer shared)
{
    TestServer Server => shared.Server;
    const string Question = "What color is the square?";

    static UserChatMessage QuestionWithImage() => new(
        ChatMessageContentPart.CreateTextPart(Question),
        ChatMessageContentPart.CreateImagePart(BinaryData.FromBytes(TestServer.FixtureImage), "image/png"));

    static ChatCompletionOptions Greedy(int maxTokens) => new() { Temperature = 0, MaxOutputTokenCount = maxTokens };

    [Fact]
    public void PlainChatWithAnImage_AnswersWhatGenerateAnswers()
    {
        ChatCompletion reply = Server.Chat(TestServer.BaseId).CompleteChat([QuestionWithImage()], Greedy(12));
        var expected = Reference.Generate(null, Question, image: true, maxTokens: 12);
        Assert.Equal(expected.Text, reply.Content[0].Text);
        Assert.Equal(ChatMessageRole.Assistant, reply.Role);
        Assert.Equal(TestServer.BaseId, reply.Model);
        Assert.Equal(expected.Tokens.Length, reply.Usage.OutputTokenCount);
        Assert.Equal(Server.Session.PromptIds(Server.Session.Prompt([], Question, true)).Length, reply.Usage.InputTokenCount);
        Assert.Equal(reply.Usage.InputTokenCount + reply.Usage.OutputTokenCount, reply.Usage.TotalTokenCount);
        bool endedAtStopToken = Server.Session.WithStops(new()).StopTokenIds!.Contains(expected.Tokens[^1]);
        Assert.Equal(endedAtStopToken ? ChatFinishReason.Stop : ChatFinishReason.Length, reply.FinishReason);
        Assert.StartsWith("chatcmpl-", reply.Id);
    }

    [Fact]
    public void StreamingChatWithAnImage_PiecesAddUpToTheReply_AndUsageComesLast()
    {
        var client = Server.Chat(TestServer.BaseId);
        string whole = client.CompleteChat([QuestionWithImage()], Greedy(24)).Value.Content[0].Text;
        var text = new StringBuilder();
        int updates = 0;
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        foreach (StreamingChatCompletionUpdate update in client.CompleteChatStreaming([QuestionWithImage()], Greedy(24)))
        {
            updates++;
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }
        Assert.Equal(whole, text.ToString());
        Assert.True(updates > 3, $"{updates} updates: the reply did not stream");
        Assert.NotNull(finish);
        Assert.NotNull(usage);
        Assert.Equal(Reference.Generate(null, Question, true, 24).Tokens.Length, usage!.OutputTokenCount);
    }

    [Fact]
    public async Task StreamedEvents_HaveOpenAisChunkShape_AndEndWithDone()
    {
        var body = TestServer.Greedy(TestServer.BaseId, Question, image: false, maxTokens: 6, tokenIds: false);
        body["stream"] = true;
        body["stream_options"] = new JsonObject { ["include_usage"] = true };
        var (status, _, response) = await Server.PostRaw("chat/completions", body.ToJsonString());
        Assert.Equal(200, status);
        Assert.StartsWith("text/event-stream", response.Content.Headers.ContentType!.ToString());
        var events = (await response.Content.ReadAsStringAsync())
            .Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e.Trim()).ToList();
        Assert.All(events, e => Assert.StartsWith("data: ", e));
        Assert.Equal("data: [DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e["data: ".Length..])!).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c["object"]!.GetValue<string>()));
        Assert.Single(chunks.Select(c => c["id"]!.GetValue<string>()).Distinct());
        Assert.Equal("assistant", chunks[0]["choices"]![0]!["delta"]!["role"]!.GetValue<string>());
        var usage = chunks[^1];
        Assert.Empty(usage["choices"]!.AsArray());
        Assert.InRange(usage["usage"]!["completion_tokens"]!.GetValue<int>(), 1, 6);
        Assert.True(usage["usage"]!["prompt_tokens"]!.GetValue<int>() > 0);
        var finishing = chunks[^2]["choices"]![0]!;
        Assert.Contains(finishing["finish_reason"]!.GetValue<string>(), new[] { "stop", "length" });
        Assert.All(chunks[..^1], c => Assert.Null(c["usage"]));   // "usage": null on every chunk but the last
    }

    [Fact]
    public async Task Models_ListsTheBaseAndEveryAdapter()
    {
        var client = new OpenAIModelClient(new ApiKeyCredential("unused"), Server.Options());
        var ids = client.GetModels().Value.Select(m => m.Id).ToList();
        Assert.Equal([TestServer.BaseId, .. TestAdapters.All.Select(a => a.Name)], ids);
        Assert.Equal(TestAdapters.Fixture, client.GetModel(TestAdapters.Fixture).Value.Id);
        var raw = JsonNode.Parse(await Server.Http.GetStringAsync("/v1/models"))!;
        Assert.Equal("list", raw["object"]!.GetValue<string>());
        var adapter = raw["data"]!.AsArray().First(m => m!["id"]!.GetValue<string>() == TestAdapters.Up)!;
        Assert.Equal("model", adapter["object"]!.GetValue<string>());
        Assert.Equal(TestServer.BaseId, adapter["parent"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(TestAdapters.Fixture, true)]
    [InlineData(TestAdapters.Up, false)]
    [InlineData(TestAdapters.WithProjector, true)]
    public async Task AdapterByModelName_GivesTheTokensOfGenerateWithThatAdapter(string adapter, bool image)
    {
        var expected = Reference.Generate(adapter, Question, image, 16);
        var message = image ? QuestionWithImage() : new UserChatMessage(Question);
        Assert.Equal(expected.Text, Server.Chat(adapter).CompleteChat([message], Greedy(16)).Value.Content[0].Text);
        var (status, body, _) = await Server.Post("chat/completions", TestServer.Greedy(adapter, Question, image, 16));
        Assert.Equal(200, status);
        Assert.Equal(expected.Tokens, TestServer.TokenIds(body!));
    }

    [Fact]
    public void TheTestAdaptersAnswerDifferently_SoRoutingIsVisible()
    {
        var answers = new[] { (string?)null, TestAdapters.Up, TestAdapters.Down, TestAdapters.WithProjector }
            .Select(a => string.Join(",", Reference.Generate(a, Question, true, 16).Tokens)).ToList();
        Assert.Equal(answers.Count, answers.Distinct().Count());
    }

    [Fact]
    public async Task UnknownModel_Is404InOpenAisErrorShape()
    {
        var e = Assert.Throws<ClientResultException>(() => Server.Chat("no-such-model").CompleteChat([new UserChatMessage("hi")], Greedy(4)));
        Assert.Equal(404, e.Status);
        var (status, body, _) = await Server.Post("chat/completions", TestServer.Greedy("no-such-model", "hi", false, 4));
        Assert.Equal(404, status);
        var error = body!["error"]!;
        Assert.Equal("model_not_found", error["code"]!.GetValue<string>());
        Assert.Equal("model", error["param"]!.GetValue<string>());
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        Assert.Contains("no-such-model", error["message"]!.GetValue<string>());
    }
}
