namespace MultiLora.Data.Templates;

/// <summary>LLaVA's conversation.SeparatorStyle: how system, roles, messages and separators are joined.</summary>
public enum SeparatorStyle
{
    /// <summary>system + sep, then "role: message" + sep per turn.</summary>
    Single,
    /// <summary>system + sep, then "role: message" + (sep after human, sep2 after the assistant).</summary>
    Two,
    /// <summary>system + sep, then role + message + sep per turn (ChatML-like).</summary>
    Mpt,
    /// <summary>"[INST] &lt;&lt;SYS&gt;&gt;...[/INST] reply sep2" rounds joined by sep (Llama-2 chat).</summary>
    Llama2,
    /// <summary>Stage-1 captioning: image, then the reply + sep; the human text is not used.</summary>
    Plain,
}
