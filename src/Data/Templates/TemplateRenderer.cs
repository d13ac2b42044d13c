using System.Text;
using MultiLora.Data.Model;

namespace MultiLora.Data.Templates;

/// <summary>
/// conversation.py's get_prompt for each separator style, also recording which characters train.py's
/// preprocess_* functions score: the assistant message with the separator that ends its turn
/// (two: " A&lt;/s&gt;", single: " A"+sep, mpt/plain: "A"+sep, llama_2: " A &lt;/s&gt;"). Turns must already alternate
/// human/gpt, starting with human. One deliberate difference: an empty system prompt emits nothing
/// (conversation.py would still write the separator), which is what llava-hf's prompt format needs.
/// </summary>
static class TemplateRenderer
{
    public static RenderedConversation Render(ConversationTemplate t, IReadOnlyList<Turn> turns, string system, bool addGenerationPrompt)
    {
        var text = new StringBuilder();
        var scored = new List<(int, int)>();
        void Scored(string s) { scored.Add((text.Length, text.Length + s.Length)); text.Append(s); }

        switch (t.SepStyle)
        {
            case SeparatorStyle.Single:
            case SeparatorStyle.Two:
                if (system.Length > 0) text.Append(system).Append(t.Sep);
                for (var i = 0; i < turns.Count; i++)
                {
                    var human = turns[i].From == Speaker.Human;
                    text.Append(human ? t.UserRole : t.AssistantRole).Append(':');
                    var end = t.SepStyle == SeparatorStyle.Two && !human ? t.Sep2 : t.Sep;
                    // The space after "ASSISTANT:" is scored with the reply: SentencePiece joins it to the
                    // reply's first word ("▁The"), and the fixture scores the answer " The square is red.".
                    if (human) text.Append(' ').Append(turns[i].Value).Append(end);
                    else Scored(" " + turns[i].Value + end);
                }
                if (addGenerationPrompt) text.Append(t.AssistantRole).Append(':');
                break;
            case SeparatorStyle.Mpt:
                if (system.Length > 0) text.Append(system).Append(t.Sep);
                foreach (var turn in turns)
                {
                    if (turn.From == Speaker.Human) text.Append(t.UserRole).Append(turn.Value).Append(t.Sep);
                    else { text.Append(t.AssistantRole); Scored(turn.Value + t.Sep); }
                }
                if (addGenerationPrompt) text.Append(t.AssistantRole);
                break;
            case SeparatorStyle.Llama2:
                for (var i = 0; i < turns.Count; i++)
                {
                    if (turns[i].From == Speaker.Human)
                    {
                        var message = i == 0 && system.Length > 0 ? $"<<SYS>>\n{system}\n<</SYS>>\n\n{turns[i].Value}" : turns[i].Value;
                        if (i > 0) text.Append(t.Sep); // get_prompt's ret.lstrip(sep) removes it before the first round
                        text.Append("[INST] ").Append(message).Append(" [/INST]");
                    }
                    else Scored(" " + turns[i].Value + " " + t.Sep2);
                }
                break; // the prompt already ends with "[/INST]", where the reply starts
            case SeparatorStyle.Plain:
                text.Append(system);
                foreach (var turn in turns)
                {
                    // preprocess_plain: the human turn is only the image; the question text is not used.
                    if (turn.From == Speaker.Human) text.Append(t.ImagePrefix);
                    else Scored(turn.Value + t.Sep);
                }
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(t), t.SepStyle, "unknown separator style");
        }
        return new RenderedConversation(text.ToString(), scored);
    }
}
