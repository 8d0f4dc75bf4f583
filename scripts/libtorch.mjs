// Finds libtorch the way tch-rs does, plus a project-local default:
//   LIBTORCH=/dir            a libtorch folder (include/, lib/); LIBTORCH=system: Debian/Ubuntu's libtorch-dev
//   LIBTORCH_USE_PYTORCH=1   the libtorch inside $PYTHON's (else python3's) torch package: a GPU user's CUDA torch
//   otherwise                the torch wheel in the project's own .venv/ (scripts/setup.mjs makes it); in an
//                            installed package, a venv in the user's cache folder (see VENV_DIR)
// Everything the compiler needs comes from the libtorch found: its version, its C++ standard (2.14 needs
// C++20), its ABI flag, and for a CUDA build the CUDA headers (CUDA_HOME, else the nvidia-* wheels beside
// the torch package completed by /usr/local/cuda or nvcc's toolkit, else GROWBERT_CUDA_FALLBACK_INCLUDE).
// Returns null when none is found. Plain JS with no dependencies: it runs before `npm ci`.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The torch wheel the default venv gets: pinned so every machine builds against the version CI proved. */
export const TORCH_SPEC = process.env.GROWBERT_TORCH_SPEC || 'torch==2.13.0';

/**
 * A checkout of the repository (it has tsconfig.json, which the npm package does not ship) is set up by
 * `npm run setup`; an installed package (node_modules/growbert) by scripts/install.mjs: npm's install hook
 * where npm runs it, else on first use, or `npx growbert setup`.
 */
export const IN_CHECKOUT = fs.existsSync(path.join(repoRoot, 'tsconfig.json'));

/** What a user runs to set up again after fixing what set-up reported. */
export const SETUP_AGAIN = IN_CHECKOUT ? '`npm run setup`' : '`npx growbert setup`';

function cacheHome() {
  return process.env.XDG_CACHE_HOME || path.join(process.env.HOME || os.homedir(), '.cache');
}

/**
 * The virtual environment set-up makes when no libtorch is named: in a checkout the project-local .venv/;
 * in an installed package a per-user cache folder, one per torch version ($XDG_CACHE_HOME or ~/.cache,
 * then growbert/venv-torch-2.13.0), since node_modules is deleted and rebuilt often and the wheel is 0.9 GB:
 * projects share it, and it outlives reinstalls. The addon links it by path (rpath), so deleting that
 * folder means setting up again (`npx growbert setup`).
 */
export const VENV_DIR = IN_CHECKOUT
  ? path.join(repoRoot, '.venv')
  : path.join(cacheHome(), 'growbert', `venv-${TORCH_SPEC.replace(/[^A-Za-z0-9.+-]+/g, '-')}`);

// 1.13 and early 2.x define the numbers in torch/version.h; later 2.x moved them to
// torch/headeronly/version.h, which torch/version.h includes.
function readVersion(includeDirs) {
  for (const d of includeDirs) {
    for (const rel of ['torch/version.h', 'torch/headeronly/version.h']) {
      const f = path.join(d, rel);
      if (!fs.existsSync(f)) continue;
      const s = fs.readFileSync(f, 'utf8');
      const get = (k) => (s.match(new RegExp(`#define TORCH_VERSION_${k} (\\d+)`)) || [])[1];
      if (get('MAJOR') !== undefined) return `${get('MAJOR')}.${get('MINOR')}.${get('PATCH')}`;
    }
  }
  return 'unknown';
}

function torchConfig(root) {
  for (const f of [
    path.join(root, 'share/cmake/Torch/TorchConfig.cmake'),
    path.join(root, `lib/${multiarch()}/cmake/Torch/TorchConfig.cmake`),
  ]) {
    if (fs.existsSync(f)) return fs.readFileSync(f, 'utf8');
  }
  return '';
}

function multiarch() {
  return `${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;
}

// The standard the torch target asks of its users (CMake's CXX_STANDARD); 17 where it says none.
// GROWBERT_CXX_STD overrides it (the device visit retries a failed C++17 build with 20).
function cxxStandard(cmake) {
  if (process.env.GROWBERT_CXX_STD) return Number(process.env.GROWBERT_CXX_STD);
  const m = cmake.match(/CXX_STANDARD (\d+)/);
  return m ? Math.max(17, Number(m[1])) : 17;
}

const CUDA_HEADERS = ['cuda_runtime_api.h', 'crt/host_config.h', 'nv/target'];
const exists = (d) => fs.existsSync(d);
const hasIn = (dirs, rel) => dirs.some((d) => exists(path.join(d, rel)));

// A CUDA toolkit's include folders: CUDA 13 keeps CCCL (nv/target, cub, thrust) in include/cccl/.
function toolkitDirs(home) {
  return [path.join(home, 'include'), path.join(home, 'include/cccl')].filter(exists);
}

// Toolkits on this machine: /usr/local/cuda, and the one whose nvcc is on PATH.
function localToolkits() {
  const homes = ['/usr/local/cuda'];
  for (const d of (process.env.PATH ?? '').split(path.delimiter))
    if (d && exists(path.join(d, 'nvcc'))) homes.push(path.dirname(fs.realpathSync(d)));
  return [...new Set(homes)].map(toolkitDirs).filter((dirs) => hasIn(dirs, 'cuda_runtime_api.h'));
}

// GROWBERT_CUDA_FALLBACK_INCLUDE: a folder with the CUDA compiler's headers (crt/, nv/), such as
// the device kit's (scripts/device/pack.mjs), added only for the headers nothing else here has.
function withFallback(dirs, what) {
  const missing = CUDA_HEADERS.filter((h) => !hasIn(dirs, h));
  if (missing.length === 0) return dirs;
  const fb = process.env.GROWBERT_CUDA_FALLBACK_INCLUDE;
  if (fb && missing.every((h) => hasIn([fb], h))) return [...dirs, fb];
  throw new Error(
    `${what} lack${what.endsWith('s') ? '' : 's'} the CUDA compiler's headers ${missing.join(', ')}: ` +
      "`pip install nvidia-cuda-crt nvidia-cuda-cccl` (your nvidia-cuda-runtime's version), set CUDA_HOME to a " +
      'CUDA toolkit, or GROWBERT_CUDA_FALLBACK_INCLUDE to a folder that has them',
  );
}

/** The CUDA headers a CUDA libtorch's own headers include (cuda_runtime_api.h, crt/, cusparse.h, cudnn, nccl). */
export function cudaIncludes(torchRoot) {
  const home = process.env.CUDA_HOME || process.env.CUDA_PATH;
  if (home) {
    const dirs = toolkitDirs(home);
    if (!hasIn(dirs, 'cuda_runtime_api.h'))
      throw new Error(`CUDA_HOME=${home} has no include/cuda_runtime_api.h; point it at a CUDA toolkit or unset it`);
    return withFallback(dirs, `CUDA_HOME=${home}`);
  }
  // pip's CUDA torch: site-packages/{torch,nvidia/<part>/include}. The runtime wheel has neither the crt/
  // headers (nvidia-cuda-crt has them) nor nv/target (nvidia-cuda-cccl), which cuda_runtime.h and cuda_fp16.h
  // include; an installed toolkit, else the fallback folder, can stand in.
  const nvidia = path.join(path.dirname(torchRoot), 'nvidia');
  const wheels = exists(nvidia)
    ? fs
        .readdirSync(nvidia)
        .sort()
        .map((d) => path.join(nvidia, d, 'include'))
        .filter(exists)
    : [];
  const toolkits = localToolkits();
  if (hasIn(wheels, 'cuda_runtime_api.h')) {
    if (CUDA_HEADERS.every((h) => hasIn(wheels, h))) return wheels;
    const tk = toolkits.find((dirs) => CUDA_HEADERS.every((h) => hasIn([...wheels, ...dirs], h)));
    return tk ? [...wheels, ...tk] : withFallback(wheels, `the nvidia-* wheels beside ${torchRoot}`);
  }
  if (toolkits.length) return withFallback(toolkits[0], `the CUDA toolkit in ${path.dirname(toolkits[0][0])}`);
  throw new Error(
    `this libtorch (${torchRoot}) is a CUDA build but no CUDA headers were found: install the nvidia-* wheels ` +
      'its torch package depends on, or set CUDA_HOME to a CUDA toolkit',
  );
}

function fromFolder(root, source) {
  const include = [path.join(root, 'include'), path.join(root, 'include/torch/csrc/api/include')];
  const libDir = path.join(root, 'lib');
  if (!fs.existsSync(path.join(include[0], 'ATen/ATen.h'))) {
    throw new Error(`${source}: ${root} has no include/ATen/ATen.h; point LIBTORCH at an unpacked libtorch folder`);
  }
  const cuda = fs.existsSync(path.join(libDir, 'libtorch_cuda.so'));
  const cmake = torchConfig(root);
  const envAbi = process.env.LIBTORCH_CXX11_ABI;
  const cmakeAbi = cmake.match(/_GLIBCXX_USE_CXX11_ABI=(\d)/);
  const abi = envAbi !== undefined ? Number(envAbi) : cmakeAbi ? Number(cmakeAbi[1]) : 1;
  return {
    source,
    root,
    include,
    cudaInclude: cuda ? cudaIncludes(root) : [],
    libDir,
    cuda,
    cxx11abi: abi,
    cxxStd: cxxStandard(cmake),
    version: readVersion(include),
  };
}

function fromPytorch(py, source) {
  let out;
  try {
    out = execFileSync(
      py,
      ['-c', 'import torch, os; print(os.path.dirname(torch.__file__)); print(int(torch._C._GLIBCXX_USE_CXX11_ABI))'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
  } catch {
    throw new Error(
      `${source}: '${py} -c "import torch"' failed; install PyTorch for ${py}` +
        (source === 'venv'
          ? ` (or delete ${VENV_DIR} and run ${SETUP_AGAIN} again)`
          : ' or unset LIBTORCH_USE_PYTORCH'),
    );
  }
  const [root, abi] = out.trim().split('\n');
  const info = fromFolder(root, source);
  info.cxx11abi = Number(abi);
  return info;
}

// The torch package inside .venv, found by its files so no Python starts on every `npm test`.
function fromVenv() {
  const lib = path.join(VENV_DIR, 'lib');
  if (!fs.existsSync(lib)) return null;
  for (const py of fs.readdirSync(lib).filter((d) => d.startsWith('python'))) {
    const root = path.join(lib, py, 'site-packages', 'torch');
    if (fs.existsSync(path.join(root, 'include/ATen/ATen.h'))) return fromFolder(root, 'venv');
  }
  return null;
}

function fromSystem(required) {
  for (const libDir of [`/usr/lib/${multiarch()}`, '/usr/lib', '/usr/local/lib']) {
    const inc = libDir.replace(/\/lib(\/.*)?$/, '/include');
    if (fs.existsSync(path.join(libDir, 'libtorch.so')) && fs.existsSync(path.join(inc, 'ATen/ATen.h'))) {
      const include = [inc, path.join(inc, 'torch/csrc/api/include')];
      const cuda = fs.existsSync(path.join(libDir, 'libtorch_cuda.so'));
      return {
        source: 'system',
        root: path.dirname(libDir),
        include,
        cudaInclude: cuda ? cudaIncludes(path.dirname(libDir)) : [],
        libDir,
        cuda,
        cxx11abi: 1,
        cxxStd: 17,
        version: readVersion(include),
      };
    }
  }
  if (required)
    throw new Error('LIBTORCH=system but no system libtorch was found (Debian/Ubuntu: apt-get install libtorch-dev)');
  return null;
}

/**
 * @returns {{source:string, root:string, include:string[], cudaInclude:string[], libDir:string, cuda:boolean,
 *   cxx11abi:number, cxxStd:number, version:string} | null}
 */
export function findLibtorch() {
  if (process.env.LIBTORCH === 'system') return fromSystem(true);
  if (process.env.LIBTORCH) return fromFolder(process.env.LIBTORCH, 'LIBTORCH');
  if (process.env.LIBTORCH_USE_PYTORCH === '1')
    return fromPytorch(process.env.PYTHON || 'python3', 'LIBTORCH_USE_PYTORCH');
  return fromVenv();
}
