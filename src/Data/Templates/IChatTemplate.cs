using MultiLora.Data.Model;

namespace MultiLora.Data.Templates;

/// <summary>
/// A prompt format: one of LLaVA's conversation templates (<see cref="ConversationTemplate"/>, YAML) or a
/// checkpoint's Jinja chat_template (<see cref="JinjaChatTemplate"/>). Training renders whole conversations
/// with the spans the loss is taken on; generation renders the history and a new user message up to where
/// the assistant's reply starts.
/// </summary>
public interface IChatTemplate
{
    /// <summary>A name that finds this template again (a built-in name, a file path, or "chat_template": the model folder's own).</summary>
    string Name { get; }

    /// <summary>
    /// True when the tokenizer adds its special tokens (BOS) around the rendered text, as LLaVA's templates
    /// expect; false when the template writes them itself (a chat_template renders bos_token), so encoding
    /// adds none, as transformers' apply_chat_template does.
    /// </summary>
    bool TokenizerAddsSpecialTokens { get; }

    /// <summary>The conversation as one string and the character ranges the loss is taken on (the assistant's turns).</summary>
    RenderedConversation Render(Conversation conversation);

    /// <summary>The prompt for a new user message after <paramref name="history"/> (alternating human/gpt, may start with a system turn), ending where the reply starts.</summary>
    string Prompt(IReadOnlyList<Turn> history, string userMessage, bool hasImage);
}
