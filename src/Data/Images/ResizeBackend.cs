namespace MultiLora.Data.Images;

/// <summary>
/// Which HF implementation to reproduce bit for bit. They differ only in fixed-point rounding (an
/// occasional ±1 in 8-bit values) and in how an odd crop margin is split.
/// </summary>
public enum ResizeBackend
{
    /// <summary>
    /// transformers 5's default fast processor (CLIPImageProcessorFast): torch's uint8 antialiased resize
    /// (Pillow-SIMD's algorithm with int16 taps at the largest precision that fits) and torchvision's
    /// center_crop (offset round((h - crop)/2), half to even). The tiny-llava fixture was made this way.
    /// </summary>
    Torchvision,
    /// <summary>
    /// The slow CLIPImageProcessor (transformers 4.x, the LLaVA repo): PIL Image.resize with 22-bit taps,
    /// HF center_crop (offset (h - crop) // 2).
    /// </summary>
    Pil,
}
