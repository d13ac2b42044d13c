using MultiLora.Data.Images;
using MultiLora.Llava.Generation;
using MultiLora.Llava.Sessions;
using MultiLora.Tests.Common;

namespace MultiLora.Serve.Tests;

/// <summary>
/// What `multilora generate` answers, computed in this process the way the command does it (a session opened on the
/// fixture model with --adapter DIR, the session's template, greedy decoding): token ids and the printed text.
/// </summary>
static class Reference
{
    static readonly Dictionary<string, LlavaSession> Sessions = new();

    public static (int[] Tokens, string Text) Generate(string? adapter, string userText, bool image, int maxTokens)
    {
        lock (Sessions)
        {
            string key = adapter ?? "";
            if (!Sessions.TryGetValue(key, out var session))
                Sessions[key] = session = LlavaSession.Open(new SessionOptions(new ModelSource(Fixture.Path("model"), AdapterDir: adapter is null ? null : TestAdapters.DirOf(adapter))));
            var picture = image ? ImageDecoder.DecodeFile(Fixture.Path("image.png")) : null;
            string prompt = session.Prompt([], userText, picture is not null);
            var options = new GenerationOptions(MaxNewTokens: maxTokens);
            string text = session.Generate([(prompt, picture)], options)[0];
            using var scope = TorchSharp.torch.NewDisposeScope();
            var pixels = session.Pixels(picture is null ? [] : [picture]);
            var tokens = LlavaGenerator.Generate(session.Model, [session.PromptIds(prompt)], pixels, session.WithStops(options))[0];
            return (tokens, text);
        }
    }
}
