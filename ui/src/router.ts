// Client-side routes (HTML5 history). The server answers every non-API path
// that is not a file with index.html, so each of these URLs can be loaded
// directly; the setup and login screens are shown in place of any route.
import { createRouter, createWebHistory } from 'vue-router'
import MessagesView from './views/MessagesView.vue'
import SecurityView from './views/SecurityView.vue'
import DebugView from './views/DebugView.vue'
import InterfacesView from './views/InterfacesView.vue'
import AboutView from './views/AboutView.vue'
import PluginsView from './views/PluginsView.vue'
import BackupsView from './views/BackupsView.vue'
import SettingsView from './views/SettingsView.vue'
import NetworkView from './views/NetworkView.vue'
import ContactsView from './views/ContactsView.vue'
import NomadNetView from './views/NomadNetView.vue'
import NotFoundView from './views/NotFoundView.vue'

declare module 'vue-router' {
  interface RouteMeta {
    title?: string
  }
}

export const router = createRouter({
  history: createWebHistory('/'),
  routes: [
    { path: '/', redirect: '/messages' },
    { path: '/messages', component: MessagesView, meta: { title: 'Messages' } },
    { path: '/contacts', component: ContactsView, meta: { title: 'Contacts' } },
    { path: '/interfaces', component: InterfacesView, meta: { title: 'Interfaces' } },
    { path: '/network', component: NetworkView, meta: { title: 'Network' } },
    { path: '/nomadnet', component: NomadNetView, meta: { title: 'NomadNet' } },
    { path: '/plugins', component: PluginsView, meta: { title: 'Plugins' } },
    { path: '/backups', component: BackupsView, meta: { title: 'Backups' } },
    { path: '/settings', component: SettingsView, meta: { title: 'Settings' } },
    { path: '/security', component: SecurityView, meta: { title: 'Security' } },
    { path: '/debug', component: DebugView, meta: { title: 'Debug' } },
    { path: '/about', component: AboutView, meta: { title: 'About' } },
    { path: '/:pathMatch(.*)*', component: NotFoundView, meta: { title: 'Not found' } },
  ],
})

router.afterEach((to) => {
  document.title = to.meta.title ? `${to.meta.title} · Reticle` : 'Reticle'
})
