"""deploy/Dockerfile, read statically (no container engine on the test machines): two stages on
Debian bookworm, the runtime stage with runtime libraries only (the runtime packages of the -dev
packages scripts/install-deps.sh installs), a fixed numeric non-root USER, the binary as an
exec-form ENTRYPOINT (no shell needed), nothing written outside the data and tmp folders; and
a .dockerignore that keeps the build context to the sources."""
import json
import os
import re
import shlex
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
DOCKERFILE = os.path.join(ROOT, "deploy/Dockerfile")

# -dev package of scripts/install-deps.sh -> the runtime package its library comes in on bookworm
RUNTIME_OF = {
    "libopenslide-dev": "libopenslide0",
    "libjpeg62-turbo-dev": "libjpeg62-turbo",
    "libpng-dev": "libpng16-16",
    "libtiff-dev": "libtiff6",
    "libturbojpeg0-dev": "libturbojpeg0",
    "libjemalloc-dev": "libjemalloc2",
    "libspdlog-dev": "libspdlog1.10",
    "libfmt-dev": "libfmt9",
    "libsqlite3-dev": "libsqlite3-0",
    "libssl-dev": "libssl3",
    "libopencv-core-dev": "libopencv-core406",
    "libopencv-imgproc-dev": "libopencv-imgproc406",
    "libopencv-dnn-dev": "libopencv-dnn406",
}
HEADER_ONLY = {"libboost-dev", "nlohmann-json3-dev", "libcli11-dev", "libgtest-dev", "libgmock-dev"}


def instructions(text):
    """[(INSTRUCTION, arguments)] with continuation lines joined and comments dropped."""
    out, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        word, _, rest = current.partition(" ")
        out.append((word.upper(), rest.strip()))
        current = ""
    return out


def stages(parsed):
    """[[(INSTRUCTION, arguments)]] per FROM."""
    result = []
    for instruction in parsed:
        if instruction[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def apt_packages(stage):
    packages = set()
    for word, rest in stage:
        if word == "RUN" and "apt-get install" in rest:
            for command in rest.split("&&"):
                if "apt-get install" in command:
                    packages |= {t for t in shlex.split(command) if not t.startswith("-") and t not in ("apt-get", "install")}
    return packages


def install_deps_packages():
    with open(os.path.join(ROOT, "scripts/install-deps.sh")) as f:
        text = f.read()
    block = re.search(r"DEBIAN_PACKAGES=\((.*?)\n\)", text, re.S).group(1)
    words = []
    for line in block.splitlines():
        words += line.split("#", 1)[0].split()
    return set(words)


class DockerfileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(DOCKERFILE) as f:
            cls.parsed = instructions(f.read())
        cls.stages = stages(cls.parsed)
        cls.args = {}
        for word, rest in cls.parsed:
            if word == "ARG" and "=" in rest:
                name, value = rest.split("=", 1)
                cls.args[name] = value

    def base(self, stage):
        image = stage[0][1].split()[0]
        return re.sub(r"\$\{(\w+)\}", lambda m: self.args.get(m.group(1), ""), image)

    def test_two_stages_on_debian_bookworm(self):
        self.assertEqual(len(self.stages), 2)
        for stage in self.stages:
            self.assertRegex(self.base(stage), r"^debian:bookworm(-slim)?(@sha256:[0-9a-f]{64})?$")
        self.assertIn(" AS build", " " + self.stages[0][0][1])
        copies = [rest for word, rest in self.stages[1] if word == "COPY"]
        self.assertTrue(copies and all(c.startswith("--from=build ") for c in copies), copies)

    def test_build_stage_has_the_dev_packages_of_install_deps(self):
        build = apt_packages(self.stages[0])
        for dev in RUNTIME_OF.keys() | HEADER_ONLY:
            self.assertIn(dev, install_deps_packages(), dev)
            self.assertIn(dev, build, dev)

    def test_runtime_stage_has_runtime_libraries_only(self):
        runtime = apt_packages(self.stages[1])
        for dev, package in RUNTIME_OF.items():
            self.assertIn(package, runtime, f"{package} (runtime of {dev})")
        self.assertIn("ca-certificates", runtime)  # https to the identity providers
        for package in runtime:
            self.assertFalse(package.endswith("-dev"), package)
            self.assertNotIn(package, {"build-essential", "cmake", "ninja-build", "nodejs", "npm", "git", "curl"})

    def test_runs_as_a_fixed_numeric_non_root_user_without_a_shell(self):
        runtime = self.stages[1]
        users = [rest for word, rest in runtime if word == "USER"]
        self.assertEqual(len(users), 1)
        self.assertRegex(users[0], r"^[1-9][0-9]*:[1-9][0-9]*$")
        self.assertEqual(users[0], "10001:10001")  # the runAsUser/runAsGroup of the manifests
        word, entrypoint = [i for i in runtime if i[0] == "ENTRYPOINT"][-1]
        self.assertTrue(entrypoint.startswith("["), "ENTRYPOINT must be exec form: " + entrypoint)
        self.assertEqual(json.loads(entrypoint), ["/opt/mcval/bin/mcval"])
        cmd = [rest for w, rest in runtime if w == "CMD"][-1]
        self.assertTrue(cmd.startswith("["), "CMD must be exec form: " + cmd)
        # Nothing after USER runs a shell at build time either.
        after_user = runtime[[w for w, _ in runtime].index("USER"):]
        self.assertFalse([w for w, _ in after_user if w == "RUN"])

    def test_writes_only_to_data_and_tmp(self):
        env = " ".join(rest for word, rest in self.stages[1] if word == "ENV")
        self.assertIn("MCVAL_DATA=/var/lib/mcval", env)
        self.assertIn("TMPDIR=/tmp", env)
        self.assertIn("MCVAL_LOG_FORMAT=json", env)  # logs on stdout, no log file
        self.assertFalse([rest for word, rest in self.stages[1] if word == "VOLUME"])  # the pod's mounts decide

    def test_the_viewer_assets_are_built_and_installed(self):
        build = " ".join(rest for word, rest in self.stages[0] if word == "RUN")
        self.assertIn("npm ci", build)
        self.assertIn("web_assets", build)
        self.assertIn("cmake --install", build)
        with open(os.path.join(ROOT, "web/CMakeLists.txt")) as f:
            self.assertIn("install(DIRECTORY ${MCVAL_WEB_OUTPUT_DIR} DESTINATION share/mcval)", f.read())

    def test_dockerignore_keeps_the_context_to_the_sources(self):
        with open(os.path.join(ROOT, ".dockerignore")) as f:
            lines = [l.strip() for l in f if l.strip() and not l.startswith("#")]
        self.assertEqual(lines[0], "**")
        allowed = {l[1:].rstrip("/") for l in lines[1:] if l.startswith("!")}
        copied = set()
        for word, rest in self.stages[0]:
            if word == "COPY" and not rest.startswith("--from"):
                copied |= {p.rstrip("/") for p in rest.split()[:-1]}
        for path in copied:
            self.assertTrue(path in allowed or any(path.startswith(a + "/") for a in allowed), path)
            self.assertTrue(os.path.exists(os.path.join(ROOT, path)), path)
        for secret in ("build", "node_modules", ".git", "workspace"):
            self.assertNotIn(secret, allowed)


if __name__ == "__main__":
    unittest.main()
