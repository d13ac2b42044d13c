using MultiLora.Data.Model;
using MultiLora.Data.Templates.Jinja;

namespace MultiLora.Data.Templates;

/// <summary>
/// A checkpoint's Jinja chat_template, rendered as transformers renders it: with messages ({role, content}),
/// add_generation_prompt and the tokenizer's special-token texts. An image goes where LLaVA puts it (the human
/// turn holding "&lt;image&gt;", else the first one): for templates that read content parts (they look at a part's
/// "type") the turn becomes [{"type": "image"}, {"type": "text", "text": ...}] as transformers' processors pass
/// it; for templates that take string contents it becomes "&lt;image&gt;\n" + text, LLaVA's convention.
/// Training scores each assistant turn: the text its {% generation %} blocks enclose where the template has them
/// (transformers' return_assistant_tokens_mask), else the reply and the end-of-turn text after it, found by
/// rendering the conversation with the reply marked (see <see cref="AssistantSpans"/>).
/// </summary>
public sealed class JinjaChatTemplate : IChatTemplate
{
    /// <summary>The name that means "the model folder's own chat template".</summary>
    public const string CheckpointName = "chat_template";

    readonly JinjaTemplate _template;
    readonly IReadOnlyDictionary<string, object?> _specialTokens;

    public string Name { get; }
    public bool TokenizerAddsSpecialTokens => false;
    public string Origin => _template.Origin;
    /// <summary>Whether the template reads content parts (else it gets string contents).</summary>
    public bool TakesContentParts { get; }

    /// <param name="specialTokens">bos_token, eos_token, ... as text (transformers passes the tokenizer's special tokens).</param>
    public JinjaChatTemplate(string name, string source, string origin, IReadOnlyDictionary<string, string?> specialTokens)
    {
        Name = name;
        _template = JinjaTemplate.Parse(source, origin);
        _specialTokens = specialTokens.ToDictionary(p => p.Key, p => (object?)(p.Value ?? ""));
        TakesContentParts = System.Text.RegularExpressions.Regex.IsMatch(source, @"\[\s*['""]type['""]\s*\]|\.type\b|['""]type['""]");
    }

    /// <summary>Renders messages given as template values (see <see cref="JinjaValues.FromJson"/>), e.g. a --chat file.</summary>
    public RenderResult RenderMessages(object? messages, bool addGenerationPrompt)
    {
        var context = new Dictionary<string, object?>(_specialTokens) { ["messages"] = messages, ["add_generation_prompt"] = addGenerationPrompt };
        return _template.Render(context);
    }

    public string Prompt(IReadOnlyList<Turn> history, string userMessage, bool hasImage)
    {
        var turns = history.Append(new Turn(Speaker.Human, userMessage)).ToList();
        return RenderMessages(Messages(turns, hasImage, "prompt", null), addGenerationPrompt: true).Text;
    }

    public RenderedConversation Render(Conversation conversation)
    {
        var turns = conversation.Turns;
        if (turns.Count == 0) throw new InvalidDataException($"{conversation.Origin}: conversation has no turns");
        if (turns[^1].From != Speaker.Gpt) throw new InvalidDataException($"{conversation.Origin}: conversation ends with a {turns[^1].From} turn that has no reply");
        var full = RenderMessages(Messages(turns, conversation.HasImage, conversation.Origin, null), addGenerationPrompt: false);
        if (_template.HasGenerationBlocks) return new RenderedConversation(full.Text, full.GenerationSpans);
        return new RenderedConversation(full.Text, AssistantSpans(turns, conversation, full.Text));
    }

    const char Mark = '\uE000'; // a private-use char no template transforms and no data holds

    /// <summary>
    /// Without generation blocks: for each assistant turn, where its text starts and ends in the full render
    /// (render again with a mark in front of / behind the reply: the first char that differs), then the
    /// end-of-turn text after it (what follows the reply when it is the last message, cut where a following
    /// user message would start, so a generation prompt a template always appends is not taken).
    /// </summary>
    List<(int Start, int End)> AssistantSpans(IReadOnlyList<Turn> turns, Conversation conversation, string full)
    {
        var spans = new List<(int, int)>();
        for (var k = 0; k < turns.Count; k++)
        {
            if (turns[k].From != Speaker.Gpt) continue;
            string Variant(IReadOnlyList<Turn> ts, bool before) =>
                RenderMessages(Messages(ts, conversation.HasImage, conversation.Origin, (k, before)), false).Text;
            var start = CommonPrefix(full, Variant(turns, before: true));
            var end = CommonPrefix(full, Variant(turns, before: false));
            if (start >= full.Length || end < start)
                throw new InvalidDataException($"{conversation.Origin}: chat template {Origin} does not render assistant turn {k}'s text; add {{% generation %}} blocks to train with it");
            // The end-of-turn text: what follows the reply when the conversation stops there, as far as it is
            // also what follows it when another message comes next (so an unconditional generation prompt is not taken).
            var upTo = turns.Take(k + 1).ToList();
            var alone = RenderMessages(Messages(upTo, conversation.HasImage, conversation.Origin, null), false).Text;
            var aloneEnd = CommonPrefix(alone, Variant(upTo, before: false));
            var (next, nextEnd) = (full, end);
            if (k == turns.Count - 1)
            {
                List<Turn> continued = [.. upTo, new Turn(Speaker.Human, "\uE001")];
                next = RenderMessages(Messages(continued, conversation.HasImage, conversation.Origin, null), false).Text;
                nextEnd = CommonPrefix(next, Variant(continued, before: false));
            }
            var closing = CommonPrefix(alone[aloneEnd..], next[nextEnd..]);
            if (string.CompareOrdinal(full, end, alone, aloneEnd, closing) == 0) end += closing;
            spans.Add((start, end));
        }
        return spans;
    }

    static int CommonPrefix(string a, string b)
    {
        var n = Math.Min(a.Length, b.Length);
        var i = 0;
        while (i < n && a[i] == b[i]) i++;
        return i;
    }

    /// <summary>Turns as transformers-style messages; <paramref name="mark"/> puts <see cref="Mark"/> before or after one turn's text.</summary>
    object? Messages(IReadOnlyList<Turn> turns, bool hasImage, string origin, (int Turn, bool Before)? mark)
    {
        var imageTurn = -1;
        if (hasImage)
        {
            imageTurn = Enumerable.Range(0, turns.Count).FirstOrDefault(i => turns[i].Value.Contains(ConversationTemplate.ImageToken, StringComparison.Ordinal), -1);
            if (imageTurn < 0) imageTurn = Enumerable.Range(0, turns.Count).FirstOrDefault(i => turns[i].From == Speaker.Human, -1);
            if (imageTurn < 0 || turns[imageTurn].From != Speaker.Human) throw new InvalidDataException($"{origin}: the image must go with a human turn");
        }
        var messages = new List<object?>(turns.Count);
        for (var i = 0; i < turns.Count; i++)
        {
            var text = turns[i].Value;
            var withImage = i == imageTurn;
            if (withImage) text = text.Replace(ConversationTemplate.ImageToken, "", StringComparison.Ordinal).Trim();
            if (mark is { } m && m.Turn == i) text = m.Before ? Mark + text : text + Mark;
            object? content;
            if (TakesContentParts)
            {
                var parts = new List<object?>();
                if (withImage) parts.Add(new OrderedDictionary<string, object?> { ["type"] = "image" });
                parts.Add(new OrderedDictionary<string, object?> { ["type"] = "text", ["text"] = text });
                content = parts;
            }
            else content = withImage ? ConversationTemplate.ImageToken + "\n" + text : text;
            var role = turns[i].From switch { Speaker.System => "system", Speaker.Human => "user", _ => "assistant" };
            messages.Add(new OrderedDictionary<string, object?> { ["role"] = role, ["content"] = content });
        }
        return messages;
    }
}
