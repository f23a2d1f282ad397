import { expect } from 'chai';
import path from 'node:path';
import { cachedDependencyPath, defaultCacheDir, downloadCachePath, uriBasename, zipFileName } from '../../src/packager/naming.js';

describe('packager naming', () => {
  describe('#zipFileName', () => {
    const table: Array<[Parameters<typeof zipFileName>[0], string]> = [
      [{ language: 'ruby', cached: false, stack: 'cflinuxfs2', version: '1.2.3' }, 'ruby_buildpack-cflinuxfs2-v1.2.3.zip'],
      [{ language: 'ruby', cached: true, stack: 'cflinuxfs2', version: '1.2.3' }, 'ruby_buildpack-cached-cflinuxfs2-v1.2.3.zip'],
      [{ language: 'ruby', cached: false, stack: '', version: '1.2.3' }, 'ruby_buildpack-v1.2.3.zip'],
      [{ language: 'config-server', cached: true, stack: '', version: '0.1.0' }, 'config-server_buildpack-cached-v0.1.0.zip'],
    ];
    for (const [parts, name] of table) {
      it(`names ${JSON.stringify(parts)} ${name}`, () => expect(zipFileName(parts)).to.equal(name));
    }
  });

  describe('#cachedDependencyPath', () => {
    context('when given the uris of the libbuildpack fixture', () => {
      it('is dependencies/<md5 of the uri>/<basename>', () => {
        expect(cachedDependencyPath('https://www.ietf.org/rfc/rfc2324.txt')).to.equal('dependencies/d39cae561ec1f485d1a4a58304e87105/rfc2324.txt');
        expect(cachedDependencyPath('https://www.ietf.org/rfc/rfc2549.txt')).to.equal('dependencies/ff1eb131521acf5bc95db59b2a2c29c0/rfc2549.txt');
      });
    });
    context('when the uri has a query string or credentials', () => {
      it('hashes the full uri but names the file after the path only', () => {
        const p = cachedDependencyPath('https://u:p@host/dir/a.tgz?token=1');
        expect(p).to.match(/^dependencies\/[0-9a-f]{32}\/a\.tgz$/);
        expect(p).not.to.equal(cachedDependencyPath('https://host/dir/a.tgz'));
      });
    });
    context('failure cases', () => {
      it('falls back to a fixed name for a uri with no path', () => {
        expect(uriBasename('https://host/')).to.equal('download');
      });
    });
  });

  describe('#downloadCachePath', () => {
    it('lays the cache out like libbuildpack (cacheDir/dependencies/<md5>/<basename>)', () => {
      expect(downloadCachePath('/c', 'https://www.ietf.org/rfc/rfc2324.txt')).to.equal(path.join('/c', 'dependencies', 'd39cae561ec1f485d1a4a58304e87105', 'rfc2324.txt'));
      expect(defaultCacheDir('/home/u')).to.equal('/home/u/.buildpack-packager/cache');
    });
  });
});
