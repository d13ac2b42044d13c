namespace MultiLora.Distributed.Nccl;

/// <summary>
/// cudaSetDevice from libcudart: NCCL binds a communicator to the calling thread's current CUDA device, and
/// TorchSharp has no torch.cuda.set_device. Found like libnccl (LIBTORCH_DIR, the nvidia-cuda-runtime wheel, the system).
/// </summary>
static unsafe class CudaRuntime
{
    public const string PathVariable = "MULTILORA_CUDART_LIBRARY";

    public static void SetDevice(int device)
    {
        var candidates = new List<string>(NativeLibraryPath.Candidates(PathVariable, "libcudart.so.12", "cuda_runtime"));
        candidates.AddRange(NativeLibraryPath.Candidates(PathVariable, "libcudart.so.13", "cuda_runtime"));
        nint handle = NativeLibraryPath.TryLoad(candidates.Distinct().ToList(), out var path, out var errors);
        if (handle == 0) throw new DllNotFoundException($"libcudart not found ({errors}); set {PathVariable} to libcudart.so");
        var setDevice = (delegate* unmanaged<int, int>)System.Runtime.InteropServices.NativeLibrary.GetExport(handle, "cudaSetDevice");
        int code = setDevice(device);
        if (code != 0) throw new InvalidOperationException($"cudaSetDevice({device}) failed with CUDA error {code} ({path}): is LOCAL_RANK within the visible GPUs?");
    }
}
