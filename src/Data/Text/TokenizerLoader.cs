using MultiLora.Data.Text.Hub;

namespace MultiLora.Data.Text;

/// <summary>
/// The one place a model folder's tokenizer is chosen: tokenizer.json when present (what transformers' fast
/// tokenizers load, and the only file Llama 3 / Qwen2 / Mistral-NeMo ship), tokenizer.model (SentencePiece)
/// otherwise.
/// </summary>
public static class TokenizerLoader
{
    public static IModelTokenizer Load(string modelDir)
    {
        if (!Directory.Exists(modelDir)) throw new DirectoryNotFoundException($"{modelDir}: tokenizer folder not found");
        if (File.Exists(Path.Combine(modelDir, HubTokenizer.FileName))) return HubTokenizer.Load(modelDir);
        if (File.Exists(Path.Combine(modelDir, HfTokenizer.ModelFile))) return HfTokenizer.Load(modelDir);
        throw new FileNotFoundException($"{modelDir}: no tokenizer (neither {HubTokenizer.FileName} nor {HfTokenizer.ModelFile})", Path.Combine(modelDir, HubTokenizer.FileName));
    }
}
