using MultiLora.Core.Tensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiLora.Vision;

/// <summary>
/// Patch embedding (a strided convolution), a learned class token, and learned position embeddings.
/// At a resolution other than the trained one the position grid is resized bicubically, as
/// transformers' interpolate_pos_encoding does, so a 224 tower runs at 336 and back.
/// </summary>
public sealed class ClipVisionEmbeddings : nn.Module<Tensor, Tensor>
{
    readonly ClipVisionConfig _c;
    public Parameter class_embedding;
    public Conv2d patch_embedding;
    public Embedding position_embedding;

    public ClipVisionEmbeddings(ClipVisionConfig c, ScalarType dtype, Device? device = null) : base(nameof(ClipVisionEmbeddings))
    {
        _c = c;
        class_embedding = new Parameter(randn(c.HiddenSize, dtype: dtype, device: device));
        patch_embedding = nn.Conv2d(c.NumChannels, c.HiddenSize, c.PatchSize, stride: c.PatchSize, bias: false, device: device, dtype: dtype);
        position_embedding = Embeddings.Create(c.NumPositions, c.HiddenSize, dtype, device);
        RegisterComponents();
    }

    /// <summary>pixels [B, 3, H, W] to embeddings [B, 1 + (H/p)(W/p), hidden].</summary>
    public override Tensor forward(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        long b = pixels.size(0), h = pixels.size(2), w = pixels.size(3);
        if (h % _c.PatchSize != 0 || w % _c.PatchSize != 0)
            throw new ArgumentException($"image size {h}x{w} is not a multiple of the patch size {_c.PatchSize}");
        var patches = patch_embedding.call(pixels.to(class_embedding.dtype));   // [B, hidden, H/p, W/p]
        patches = patches.flatten(2).transpose(1, 2);                             // [B, N, hidden]
        var cls = class_embedding.expand(b, 1, -1);                               // [B, 1, hidden]
        var embeddings = cat([cls, patches], 1);                                  // [B, 1+N, hidden]
        return embeddings.Plus(PositionEmbeddings(h / _c.PatchSize, w / _c.PatchSize)).MoveToOuterDisposeScope();
    }

    /// <summary>[1, 1 + gh*gw, hidden]: the stored table, or its patch grid resized to gh x gw.</summary>
    Tensor PositionEmbeddings(long gh, long gw)
    {
        var table = position_embedding.weight!.unsqueeze(0);                      // [1, 1+G*G, hidden]
        if (gh == _c.GridSize && gw == _c.GridSize) return table;
        long g = _c.GridSize, d = _c.HiddenSize;
        var cls = table.narrow(1, 0, 1);
        var grid = table.narrow(1, 1, g * g).reshape(1, g, g, d).permute(0, 3, 1, 2);   // [1, hidden, G, G]
        var resized = nn.functional.interpolate(grid.to(ScalarType.Float32), size: [gh, gw], mode: InterpolationMode.Bicubic, align_corners: false)
            .to(table.dtype);
        return cat([cls, resized.permute(0, 2, 3, 1).reshape(1, gh * gw, d)], 1);
    }
}
