# Shared helpers for scripts/*.sh (sourced, not run).

MJA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Install the Debian packages listed in scripts/apt-packages.txt that are
# missing (root only; others get a hint).
mja_install_deps() {
	local pkgs missing=()
	pkgs=$(grep -v '^\s*#' "$MJA_ROOT/scripts/apt-packages.txt" | grep -v '^\s*$')
	for p in $pkgs; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		return 0
	fi
	if [ "$(id -u)" -ne 0 ]; then
		echo "missing packages: ${missing[*]} (run as root, or apt-get install them)" >&2
		return 1
	fi
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# The Debian mirror apt already uses on this machine (no other registry):
# the first "deb" source, in /etc/apt/sources.list, sources.list.d/*.list
# (one-line format) or sources.list.d/*.sources (deb822), that serves the
# host's own release (VERSION_CODENAME) with component main. Prints the
# URI; fails when there is none.
mja_apt_mirror() {
	local codename f
	codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
	{
		for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
			[ -f "$f" ] || continue
			# deb [options] URI suite components...
			sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
				awk -v c="$codename" '$1 == "deb" && (c == "" || $3 == c) {
					for (i = 4; i <= NF; i++) if ($i == "main") { print $2; exit } }'
		done
		for f in /etc/apt/sources.list.d/*.sources; do
			[ -f "$f" ] || continue
			# deb822 stanzas separated by blank lines.
			awk -v c="$codename" '
				function flush() {
					if (types ~ /(^| )deb( |$)/ && comps ~ /(^| )main( |$)/ &&
					    (c == "" || (" " suites " ") ~ (" " c " ")) && uris != "") {
						split(uris, u, " "); print u[1]; found = 1; exit
					}
					types = uris = suites = comps = ""
				}
				/^[[:space:]]*#/ { next }
				/^[[:space:]]*$/ { flush(); next }
				{ key = tolower($1); $1 = ""; sub(/^[[:space:]]+/, "")
				  if (key == "types:") types = $0
				  else if (key == "uris:") uris = $0
				  else if (key == "suites:") suites = $0
				  else if (key == "components:") comps = $0 }
				END { if (!found) flush() }' "$f"
		done
	} | head -n1 | grep . || {
		echo "no Debian mirror for '$codename' in apt's sources" >&2
		return 1
	}
}
